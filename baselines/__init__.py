"""MOUD package."""
