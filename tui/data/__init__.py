"""Data for the dashboard: queries, view models and formatting. Nothing here
imports Textual, so it is usable (and testable) without a terminal."""
