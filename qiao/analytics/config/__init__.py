"""Default configuration of the analytics: ``scoring.toml`` and ``tiers.toml`` (package data)."""
