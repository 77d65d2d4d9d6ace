"""What a work unit already holds on disk, and which of its dialogues a run still has to make.

A unit is done when every dialogue index in it is accounted for: a row in ``shards/``, a drop in
``drops/`` (``--filter``), or a final failure in ``failures/``. Backend failures (server down, timeouts)
are never final: a re-run makes those dialogues again. Failures of the model's output (unparsable,
rejected by a gate) are final unless ``retry_failed``; such a retry draws a new dialogue seed, derived from
the failed one (the same seed would replay the same rejected answers from the request cache). An index
found nowhere (a run killed between two of the unit's files) is made again as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generation.units import WorkUnit
from moud_core.jsonl import iter_jsonl
from moud_core.records import is_retryable
from moud_core.runfolder import DROPS, FAILURES, SHARDS, RunFolder
from moud_core.seeds import derive_seed


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
    seeds: dict[int, int] = field(default_factory=dict)  # index -> dialogue seed of a retried output failure

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
                if not is_retryable(record) and isinstance(record.get("dialogue_seed"), int):
                    state.seeds[record.get("index")] = retry_seed(record["dialogue_seed"])
                continue
            rid = (record.get("row") or {}).get("id") if kind == DROPS else record.get("id")
            index = record.get("index") if kind == FAILURES else _index(rid)
            if isinstance(index, int) and unit.start <= index < unit.stop:
                state.kept[index] = {key: record, "kept": True}
    state.todo = [i for i in indices if i not in state.kept]
    state.seeds = {i: seed for i, seed in state.seeds.items() if i in state.todo}
    return state


def retry_seed(failed_seed: int) -> int:
    """The dialogue seed of a ``--retry-failed`` retry of a dialogue that failed with ``failed_seed``."""
    return derive_seed(failed_seed, "retry")
