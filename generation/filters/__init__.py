"""Quality gates for generated dialogues (`moud filter`): language ID, script, length, repetition,
leakage and near-duplicates. Inline use::

    from generation.filters import FilterPipeline
    pipe = FilterPipeline.from_config(None)      # packaged defaults (data/filters.yaml)
    result = pipe.check(row)                     # FilterResult(kept, row, drop)

Per text, as soon as generation produces it (the same per-text checks)::

    from generation.filters import TextGates
    drop = TextGates.from_config().check("fr", "turns[2]", text, earlier_turns=[...], personas=[...])
"""

from generation.filters.base import Drop
from generation.filters.inline import TextGates
from generation.filters.pipeline import FilterPipeline, FilterResult
from generation.filters.stream import filter_run

__all__ = ["Drop", "FilterPipeline", "FilterResult", "TextGates", "filter_run"]
