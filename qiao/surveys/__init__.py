"""Questionnaires, answers, CSAT and NPS (docs/reports.md)."""
