"""moud_gates.cli."""
