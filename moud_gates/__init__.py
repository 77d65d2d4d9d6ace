"""Quality gates for generated dialogues (`moud filter`): language ID, script, length, repetition,
leakage and near-duplicates. Inline use::

    from moud_gates import FilterPipeline
    pipe = FilterPipeline.from_config(None)      # packaged defaults (data/filters.yaml)
    result = pipe.check(row)                     # FilterResult(kept, row, drop)

Per text, as soon as generation produces it (the same per-text checks)::

    from moud_gates import TextGates
    drop = TextGates.from_config().check("fr", "turns[2]", text, earlier_turns=[...], personas=[...])
"""

from moud_gates.base import Drop
from moud_gates.filter import filter_run
from moud_gates.inline import TextGates
from moud_gates.pipeline import FilterPipeline, FilterResult

__all__ = ["Drop", "FilterPipeline", "FilterResult", "TextGates", "filter_run"]
