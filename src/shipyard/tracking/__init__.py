"""Tracking: runs, params, metrics (buffered), artifacts, search language."""
