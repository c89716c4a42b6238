"""The Key Vault data plane: secret routes and Key Vault's error shapes."""
