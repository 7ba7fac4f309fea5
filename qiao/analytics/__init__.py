"""Framework-free analytics for Qiao (no Django imports allowed under this package)."""
