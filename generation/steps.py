"""The three generation steps for one dialogue: two personas, the common ground, the dialogue.

All random choices for dialogue ``i`` are drawn up front into a ``DialoguePlan`` from a seed derived
from (run seed, language, i), so they do not depend on scheduling; every request carries its own seed
derived from the dialogue seed, the step and the attempt number.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from generation.config import RunConfig
from generation.parsing import (
    ParseFailure,
    clean_common_ground,
    clean_utterance,
    normalized_for_loop,
    parse_persona,
)
from generation.prompts import PromptSet, sample_demonstrations
from moud_core.backends.base import Backend, ChatRequest, ChatResponse, SamplingParams
from moud_core.errors import BackendError
from moud_core.languages import Language
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


def plan_dialogue(cfg: RunConfig, language: str, index: int, taxonomy: dict, events: tuple,
                  demos: list[list[str]]) -> DialoguePlan:
    seed = derive_seed(cfg["seed"], language, index)
    rng = random.Random(seed)
    n_cat = cfg["persona"]["sentences"]
    return DialoguePlan(
        language=language, index=index, dialogue_seed=seed,
        categories_a=sample_persona_categories(rng, taxonomy, n_cat),
        categories_b=sample_persona_categories(rng, taxonomy, n_cat),
        speech_event=sample_speech_event(rng, events),
        first_speaker=rng.choice("AB"),
        num_turns=rng.randint(cfg["dialogue"]["min_turns"], cfg["dialogue"]["max_turns"]),
        demos_a=sample_demonstrations(rng, demos, cfg["num_demos"]),
        demos_b=sample_demonstrations(rng, demos, cfg["num_demos"]),
    )


class DialogueFailure(Exception):
    def __init__(self, step: str, reason: str, detail: str = ""):
        super().__init__(f"{step}: {reason}" + (f" ({detail})" if detail else ""))
        self.step, self.reason, self.detail = step, reason, detail


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cached: int = 0
    seconds: float = 0.0

    def add(self, r: ChatResponse) -> None:
        self.prompt_tokens += r.prompt_tokens
        self.completion_tokens += r.completion_tokens
        self.requests += 1
        self.cached += int(r.cached)
        self.seconds += r.latency_s

    def merge(self, other: Usage) -> None:
        for name in ("prompt_tokens", "completion_tokens", "requests", "cached", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class StepContext:
    backend: Backend
    prompts: PromptSet
    cfg: RunConfig
    language: Language
    usage: Usage = field(default_factory=Usage)

    async def ask(self, messages: list[dict], sampling: SamplingParams, seed: int, step: str) -> ChatResponse:
        try:
            resp = await self.backend.chat(ChatRequest.from_messages(messages, sampling, seed))
        except BackendError as exc:
            raise DialogueFailure(step, exc.reason, str(exc)) from None
        self.usage.add(resp)
        return resp


async def make_persona(ctx: StepContext, plan: DialoguePlan, who: str) -> list[str]:
    pc = ctx.cfg["persona"]
    cats, demos = (plan.categories_a, plan.demos_a) if who == "A" else (plan.categories_b, plan.demos_b)
    messages = ctx.prompts.persona_messages(ctx.language, cats, pc["sentences"], demos)
    last = None
    for attempt in range(pc["max_attempts"]):
        seed = derive_seed(plan.dialogue_seed, f"persona_{who}", attempt)
        resp = await ctx.ask(messages, ctx.cfg.sampling["persona"], seed, "persona")
        try:
            return parse_persona(resp.text, pc["sentences"], pc["min_sentences"])
        except ParseFailure as exc:
            last = exc
    raise DialogueFailure("persona", last.reason, f"persona {who}: {last.detail}; {pc['max_attempts']} attempts")


async def make_common_ground(ctx: StepContext, plan: DialoguePlan, persona_a: list[str], persona_b: list[str]) -> str:
    messages = ctx.prompts.common_ground_messages(ctx.language, persona_a, persona_b, plan.speech_event)
    attempts = ctx.cfg["common_ground"]["max_attempts"]
    last = None
    for attempt in range(attempts):
        seed = derive_seed(plan.dialogue_seed, "common_ground", attempt)
        resp = await ctx.ask(messages, ctx.cfg.sampling["common_ground"], seed, "common_ground")
        try:
            return clean_common_ground(resp.text)
        except ParseFailure as exc:
            last = exc
    raise DialogueFailure("common_ground", last.reason, f"{last.detail}; {attempts} attempts")


async def make_turns(ctx: StepContext, plan: DialoguePlan, persona_a: list[str], persona_b: list[str],
                     common_ground: str) -> tuple[list[dict], str]:
    """Alternate the two role-play instances. Returns (turns, stop_reason)."""
    dc = ctx.cfg["dialogue"]
    other = {"A": "B", "B": "A"}
    history: list[tuple[str, str]] = []
    recent: list[str] = []
    for t in range(plan.num_turns):
        speaker = plan.first_speaker if t % 2 == 0 else other[plan.first_speaker]
        persona = persona_a if speaker == "A" else persona_b
        view = [(s == speaker, text) for s, text in history]
        messages = ctx.prompts.dialogue_messages(ctx.language, persona, common_ground, plan.speech_event, view)
        may_stop = t >= dc["min_turns"]
        reason = ""
        text = ""
        for attempt in range(1 if may_stop else dc["max_attempts"]):
            seed = derive_seed(plan.dialogue_seed, f"turn_{t}", attempt)
            resp = await ctx.ask(messages, ctx.cfg.sampling["dialogue"], seed, "dialogue")
            text = clean_utterance(resp.text)
            key = normalized_for_loop(text)
            if not key:
                reason, text = "empty", ""
            elif key in recent[-dc["loop_window"]:]:
                reason, text = "loop", ""
            else:
                break
        if not text:
            if may_stop:
                return [{"speaker": s, "text": x} for s, x in history], reason
            raise DialogueFailure("dialogue", f"{reason}_turn", f"turn {t} after {dc['max_attempts']} attempts")
        history.append((speaker, text))
        recent.append(normalized_for_loop(text))
    return [{"speaker": s, "text": x} for s, x in history], "max_turns"


async def make_dialogue(ctx: StepContext, plan: DialoguePlan) -> dict:
    """Run all steps for one plan; returns the parts of a row (raises DialogueFailure)."""
    persona_a, persona_b = await asyncio.gather(make_persona(ctx, plan, "A"), make_persona(ctx, plan, "B"))
    common_ground = await make_common_ground(ctx, plan, persona_a, persona_b)
    turns, stop_reason = await make_turns(ctx, plan, persona_a, persona_b, common_ground)
    return {"persona_a": persona_a, "persona_b": persona_b, "common_ground": common_ground,
            "turns": turns, "stop_reason": stop_reason}
