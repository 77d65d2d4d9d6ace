"""A dialogue's plan: every random choice for dialogue ``i`` (persona categories, speech event, first speaker,
length, demonstrations), drawn up front from a seed derived from (run seed, language, i), so it does not
depend on scheduling."""

from __future__ import annotations

import random
from dataclasses import dataclass

from generation.config import RunConfig
from generation.prompts import sample_demonstrations
from moud_core.seeds import derive_seed
from moud_core.taxonomy import SpeechEvent, sample_persona_categories, sample_speech_event


@dataclass(frozen=True)
class DialoguePlan:
    language: str
    index: int
    dialogue_seed: int
    categories_a: list
    categories_b: list
    speech_event: SpeechEvent
    first_speaker: str
    num_turns: int
    demos_a: list
    demos_b: list


def plan_dialogue(
    cfg: RunConfig,
    language: str,
    index: int,
    taxonomy: dict,
    events: tuple,
    demos: list[list[str]],
    seed: int | None = None,
) -> DialoguePlan:
    """The plan of dialogue ``index``, drawn from its seed (derived from the run seed, language and index
    unless given: a ``--retry-failed`` retry passes a new one)."""
    seed = derive_seed(cfg["seed"], language, index) if seed is None else seed
    rng = random.Random(seed)
    n_cat = cfg["persona"]["sentences"]
    return DialoguePlan(
        language=language,
        index=index,
        dialogue_seed=seed,
        categories_a=sample_persona_categories(rng, taxonomy, n_cat),
        categories_b=sample_persona_categories(rng, taxonomy, n_cat),
        speech_event=sample_speech_event(rng, events),
        first_speaker=rng.choice("AB"),
        num_turns=rng.randint(cfg["dialogue"]["min_turns"], cfg["dialogue"]["max_turns"]),
        demos_a=sample_demonstrations(rng, demos, cfg["num_demos"]),
        demos_b=sample_demonstrations(rng, demos, cfg["num_demos"]),
    )
