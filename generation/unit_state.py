"""What a work unit already holds on disk, and which of its dialogues a run still has to make.

A unit is done when every dialogue index in it is accounted for: a row in ``shards/``, a drop in
``drops/`` (``--filter``), or a final failure in ``failures/``. Backend failures (server down, timeouts)
are never final: a re-run makes those dialogues again. Failures of the model's output (unparsable,
rejected by a gate) are final unless ``retry_failed``. An index found nowhere (a run killed between two
of the unit's files) is made again as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generation.units import WorkUnit
from moud_core.jsonl import iter_jsonl
from moud_core.records import is_retryable
from moud_core.runfolder import DROPS, FAILURES, SHARDS, RunFolder


def _index(row_id) -> int | None:
    """The dialogue index in an id such as ``fr-0000042``."""
    tail = str(row_id).rpartition("-")[2]
    return int(tail) if tail.isdigit() else None


@dataclass
class UnitState:
    unit: WorkUnit
    kept: dict[int, dict] = field(
        default_factory=dict
    )  # index -> {"row"|"failure"|"drop": record, "kept": True}
    todo: list[int] = field(default_factory=list)  # indices to make in this run

    @property
    def done(self) -> bool:
        return not self.todo


def unit_state(folder: RunFolder, unit: WorkUnit, retry_failed: bool = False) -> UnitState:
    """The unit's state; a unit without a shard file is made whole."""
    state = UnitState(unit)
    indices = range(unit.start, unit.stop)
    if not folder.unit_path(SHARDS, unit.language, unit.name).is_file():
        state.todo = list(indices)
        return state
    for kind, key in (
        (FAILURES, "failure"),
        (DROPS, "drop"),
        (SHARDS, "row"),
    ):  # rows win over stale failures
        path = folder.unit_path(kind, unit.language, unit.name)
        if not path.is_file():
            continue
        for _, record in iter_jsonl(path):
            if kind == FAILURES and (retry_failed or is_retryable(record)):
                continue
            rid = (record.get("row") or {}).get("id") if kind == DROPS else record.get("id")
            index = record.get("index") if kind == FAILURES else _index(rid)
            if isinstance(index, int) and unit.start <= index < unit.stop:
                state.kept[index] = {key: record, "kept": True}
    state.todo = [i for i in indices if i not in state.kept]
    return state
