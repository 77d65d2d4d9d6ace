"""baselines.cli."""
