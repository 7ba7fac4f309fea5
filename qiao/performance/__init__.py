"""Targets, scorecards and the staffing calculator (docs/reports.md)."""
