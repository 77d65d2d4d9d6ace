"""eval.cli."""
