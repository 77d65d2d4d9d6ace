"""moud_dataset.cli.build."""
