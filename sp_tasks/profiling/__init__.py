"""Profiling: sample processor stats, summarise runs, keep history, detect regressions."""
