"""The seed: the team, vaults, secrets and assignments `kvnb local reset` lays down, and its governance."""
