"""The local ARM: role definitions, role assignments and PIM schedule requests, with ARM's error shapes."""
