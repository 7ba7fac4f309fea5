"""The bank's reports on screen, in the API and in Excel (docs/reports.md)."""
