"""MOUD's test suite: one folder per package (tests/core, tests/generation, ...), shared fixtures in
conftest.py."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
