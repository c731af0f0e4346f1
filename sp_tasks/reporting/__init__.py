"""Reporting: trend charts and the Markdown report built from profiling results."""
