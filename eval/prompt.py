"""Judge prompts built from ``eval/data/judge_prompt.yaml`` and a rubric."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from eval.items import Item
from eval.rubric import Criterion
from moud_core.errors import ConfigError
from moud_core.languages import Language
from moud_core.taxonomy import load_speech_events
from moud_core.yamlio import load_yaml

PROMPT_FILE = Path(__file__).parent / "data" / "judge_prompt.yaml"


@functools.lru_cache(maxsize=4)
def load_templates(path: str | None = None) -> dict:
    src = Path(path) if path else PROMPT_FILE
    data = load_yaml(src)
    for key in ("version", "system", "user", "kind_labels", "item_header", "blocks"):
        if not isinstance(data, dict) or key not in data:
            raise ConfigError(f"{src}: {key}: missing")
    return data


@functools.lru_cache(maxsize=1)
def _events() -> dict:
    return {e.id: e for e in load_speech_events()}


def _bullets(sentences: Sequence[str]) -> str:
    return "\n".join(f"- {s}" for s in sentences)


def render_criteria(criteria: Sequence[Criterion], kind: str) -> str:
    lines = []
    for c in criteria:
        lines.append(f"- {c.name}: {c.description}")
        if kind in c.focus:
            lines.append(f"  Focus: {c.focus[kind]}")
        lines += [f"  {level}: {desc}" for level, desc in c.scale.items()]
    return "\n".join(lines)


def render_item(item: Item, swapped: bool = False, templates: dict | None = None) -> str:
    """The item block; ``swapped`` presents the two personas in the other order."""
    t = templates or load_templates()
    row = item.row
    event = _events().get(item.speech_event)
    event_name = event.name if event else item.speech_event
    event_def = event.definition if event else ""
    pa, pb = ("persona_b", "persona_a") if swapped else ("persona_a", "persona_b")
    if item.kind == "persona":
        cats = row["metadata"].get(f"{item.part}_categories") or []
        body = t["blocks"]["persona"].format(
            categories=", ".join(cats) or "(none recorded)", persona=_bullets(row[item.part])
        )
    elif item.kind == "common_ground":
        body = t["blocks"]["common_ground"].format(
            event_name=event_name,
            event_definition=event_def,
            first_persona=_bullets(row[pa]),
            second_persona=_bullets(row[pb]),
            common_ground=row["common_ground"],
        )
    else:
        turns = "\n".join(f"{turn['speaker']}: {turn['text']}" for turn in row["turns"])
        body = t["blocks"]["dialogue"].format(
            event_name=event_name,
            event_definition=event_def,
            common_ground=row["common_ground"],
            first_label=pa[-1].upper(),
            second_label=pb[-1].upper(),
            first_persona=_bullets(row[pa]),
            second_persona=_bullets(row[pb]),
            turns=turns,
        )
    return t["item_header"].format(item_id=item.item_id) + "\n" + body


def build_messages(
    items: Sequence[Item],
    criteria: Sequence[Criterion],
    language: Language,
    swapped: bool = False,
    templates: dict | None = None,
) -> list[dict]:
    """Chat messages asking the judge to score ``items`` (same kind and language) on ``criteria``."""
    t = templates or load_templates()
    kind = items[0].kind
    system = t["system"].format(
        language_name=language.name,
        native_name=language.native_name,
        region=language.region_hint or f"a {language.name}-speaking region",
    )
    user = t["user"].format(
        count=len(items),
        kind_label=t["kind_labels"][kind],
        language_name=language.name,
        items="\n\n".join(render_item(i, swapped, t) for i in items),
        criteria=render_criteria(criteria, kind),
        score_keys=", ".join(f'"{c.name}": <1-5>' for c in criteria),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
