"""moud_experiment.cli."""
