"""The local Microsoft Graph v1.0 subset: directory reads, access reviews and entitlement management."""
