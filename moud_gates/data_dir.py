"""Where the gates' data files live (``moud_gates/data/``): the one place that spells it."""

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
