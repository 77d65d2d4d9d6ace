"""Where evaluation distractors come from: every turn of the test source's languages in any of its splits
(train, validation, test), so a small test split still gets its candidates. The gold reply and the turns of
its own dialogue are never drawn (``baselines.candidates``)."""

from __future__ import annotations

from baselines.data import XPERSONA_SPLITS, load_instances, source_languages
from moud_core.errors import MoudError
from moud_core.splits import SPLITS


def _splits(source: dict) -> tuple[str, ...]:
    return XPERSONA_SPLITS if source["type"] == "xpersona" else SPLITS


def distractor_pool(source: dict, languages: list[str], max_history: int) -> list:
    """Every turn of ``source`` in ``languages``, all splits together (PersonaChat brings its own
    candidates: none)."""
    if source["type"] == "personachat":
        return []
    pool, seen = [], set()
    for split in _splits(source):
        spec = {**source, "split": split}
        found = []
        for lang in languages:
            try:
                if lang in source_languages(spec, split):
                    found += load_instances(spec, [lang], split, max_history)
            except MoudError:  # a split this source (or language) does not have
                continue
        for inst in found:
            key = (inst.language, inst.dialogue_id, inst.turn)
            if key not in seen:
                seen.add(key)
                pool.append(inst)
    return pool
