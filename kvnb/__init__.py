"""kvnb: use Azure Key Vault securely from Jupyter."""

__version__ = "0.1.0"
