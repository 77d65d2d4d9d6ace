"""Persona categories and speech events, loaded from the YAML data files."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class SpeechEvent:
    id: str
    name: str
    family: str
    definition: str
    weight: float = 1.0


@functools.lru_cache(maxsize=8)
def load_speech_events(path: str | None = None) -> tuple[SpeechEvent, ...]:
    src = Path(path) if path else DATA / "speech_events.yaml"
    data = load_yaml(src)
    if not isinstance(data, dict) or not isinstance(data.get("speech_events"), list):
        raise ConfigError(f"{src}: expected a mapping with a 'speech_events' list")
    events = []
    for i, e in enumerate(data["speech_events"]):
        try:
            events.append(SpeechEvent(**e))
        except TypeError as exc:
            raise ConfigError(f"{src}: speech_events[{i}]: {exc}") from None
    ids = [e.id for e in events]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{src}: duplicate speech event id")
    return tuple(events)


@functools.lru_cache(maxsize=8)
def load_persona_taxonomy(path: str | None = None) -> dict[str, tuple[str, ...]]:
    src = Path(path) if path else DATA / "persona_taxonomy.yaml"
    data = load_yaml(src)
    cats = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(cats, dict) or not cats:
        raise ConfigError(f"{src}: expected a mapping with a non-empty 'categories' mapping")
    out = {}
    for name, subs in cats.items():
        if not isinstance(subs, list) or not subs:
            raise ConfigError(f"{src}: categories.{name}: expected a non-empty list of subcategories")
        out[str(name)] = tuple(str(s) for s in subs)
    return out


def sample_speech_event(rng: random.Random, events: tuple[SpeechEvent, ...]) -> SpeechEvent:
    return rng.choices(events, weights=[e.weight for e in events], k=1)[0]


def sample_persona_categories(rng: random.Random, taxonomy: dict[str, tuple[str, ...]], n: int) -> list[str]:
    """n distinct 'category/subcategory' strings (categories distinct while possible)."""
    cats = sorted(taxonomy)
    chosen = rng.sample(cats, k=min(n, len(cats)))
    while len(chosen) < n:
        chosen.append(rng.choice(cats))
    return [f"{c}/{rng.choice(taxonomy[c])}" for c in chosen]
