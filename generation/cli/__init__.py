"""generation.cli.generate."""
