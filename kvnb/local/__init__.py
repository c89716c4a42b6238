"""The local vault: Key Vault, ARM and Graph on loopback HTTPS, with real tokens and Azure RBAC."""
