"""The shared core of MOUD: what every stage reads and writes, and nothing stage-specific.

It imports no stage (``generation``, ``moud_dataset``, ``eval``, ``baselines``, ``hub_upload``); every
stage imports it. See docs/DEVELOPING.md for the layers.
"""

__version__ = "0.1.0"
