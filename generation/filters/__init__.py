"""Quality gates for generated dialogues (`moud filter`): language ID, script, length, repetition,
leakage and near-duplicates. Inline use::

    from generation.filters import FilterPipeline
    pipe = FilterPipeline.from_config(None)      # packaged defaults (data/filters.yaml)
    result = pipe.check(row)                     # FilterResult(kept, row, drop)
"""

from generation.filters.base import Drop
from generation.filters.pipeline import FilterPipeline, FilterResult
from generation.filters.stream import filter_run

__all__ = ["Drop", "FilterPipeline", "FilterResult", "filter_run"]
