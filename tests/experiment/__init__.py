"""Tests of moud_experiment."""
