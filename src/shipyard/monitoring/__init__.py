"""Monitoring: how production data moves away from what a model learned from.

- :mod:`shipyard.monitoring.drift` per-column drift tests and the dataset's verdict;
- :mod:`shipyard.monitoring.tables` the tables compared: dataset versions or files.
"""
