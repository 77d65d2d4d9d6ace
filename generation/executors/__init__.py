"""Executors: where the work units of a ``moud generate`` run are made.

- ``local`` (default): one asyncio process (``generation.executors.local``).
- ``ray``: groups of units as Ray tasks across a cluster, retried on failure
  (``generation.executors.ray_executor``; optional extra ``pip install 'moud[ray]'``).

Both write into the same run folder layout; shard files are written atomically once complete, so a
retried or resumed task simply skips finished units and re-does the others from its request cache.
"""

EXECUTORS = ("local", "ray")
