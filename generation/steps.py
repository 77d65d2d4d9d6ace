"""The three generation steps for one dialogue: two personas, the common ground, the dialogue.

All random choices for dialogue ``i`` are drawn up front into a ``DialoguePlan`` from a seed derived
from (run seed, language, i), so they do not depend on scheduling; every request carries its own seed
derived from the dialogue seed, the step and the attempt number.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from generation.config import RunConfig
from generation.dialogue_plan import DialoguePlan
from generation.output_checks import OutputChecker, OutputLog, Rejected
from generation.parsing import (
    clean_common_ground,
    clean_utterance,
    normalized_for_loop,
    parse_persona,
)
from generation.prompts import PromptSet
from moud_core.backends.base import Backend, ChatRequest, ChatResponse, SamplingParams
from moud_core.drop import Drop
from moud_core.errors import BackendError
from moud_core.languages import Language
from moud_core.seeds import derive_seed
from moud_gates.base import TextItem


class DialogueFailure(Exception):
    """A step gave up: a backend failure (its ``BackendError.reason``; a re-run retries it) or rejected
    output (the step's outputs were rejected ``max_attempts`` times; final unless --retry-failed).
    ``rejected_outputs``: every rejected output of the dialogue (filled in by ``make_dialogue``)."""

    def __init__(self, step: str, reason: str, detail: str = ""):
        super().__init__(f"{step}: {reason}" + (f" ({detail})" if detail else ""))
        self.step, self.reason, self.detail = step, reason, detail
        self.rejected_outputs: list[dict] = []


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cached: int = 0
    seconds: float = 0.0
    rejected_prompt_tokens: int = 0  # spent on outputs that were rejected
    rejected_completion_tokens: int = 0

    def add(self, r: ChatResponse) -> None:
        self.prompt_tokens += r.prompt_tokens
        self.completion_tokens += r.completion_tokens
        self.requests += 1
        self.cached += int(r.cached)
        self.seconds += r.latency_s

    def merge(self, other: Usage) -> None:
        for name in (
            "prompt_tokens",
            "completion_tokens",
            "requests",
            "cached",
            "seconds",
            "rejected_prompt_tokens",
            "rejected_completion_tokens",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class StepContext:
    """What the steps of one dialogue share: the backend, prompts, config, language, the output checks
    (``checker``; inline gates inside it when on), and this dialogue's usage and ``OutputLog``."""

    backend: Backend
    prompts: PromptSet
    cfg: RunConfig
    language: Language
    checker: OutputChecker | None = None
    usage: Usage = field(default_factory=Usage)
    log: OutputLog = field(default_factory=OutputLog)

    def __post_init__(self):
        if self.checker is None:
            self.checker = OutputChecker(self.language.code, None, self.cfg.data.get("on_truncated", "trim"))

    def fork(self) -> StepContext:
        """A context for one more dialogue: same backend, prompts, config and checks; fresh usage and log."""
        return StepContext(self.backend, self.prompts, self.cfg, self.language, self.checker)

    async def ask(self, messages: list[dict], sampling: SamplingParams, seed: int, step: str) -> ChatResponse:
        self.log.step_attempts[step] += 1
        try:
            resp = await self.backend.chat(ChatRequest.from_messages(messages, sampling, seed))
        except BackendError as exc:
            raise DialogueFailure(step, exc.reason, str(exc)) from None
        self.usage.add(resp)
        return resp

    def give_up(
        self, step: str, field_name: str, attempt: int, last: Rejected, attempts: int
    ) -> DialogueFailure:
        self.log.note(step, field_name, attempt, last.drop, "failed")
        return DialogueFailure(
            step, last.tag, f"{field_name}: {attempts} attempt(s); last: {last.drop.reason}"
        )


async def _attempts(
    ctx: StepContext,
    plan: DialoguePlan,
    step: str,
    field_name: str,
    seed_name: str,
    attempts: int,
    messages: list[dict],
    accept,
    *,
    stop_early: bool = False,
):
    """Ask up to ``attempts`` times (seed derived from the dialogue seed, ``seed_name`` and the attempt);
    ``accept(visible_text)`` returns the accepted value or raises Rejected. Returns the value, or,
    with ``stop_early``, the last Rejected (the caller ends the dialogue there). Else raises
    DialogueFailure."""
    sampling = ctx.cfg.sampling[step]
    for attempt in range(attempts):
        resp = await ctx.ask(messages, sampling, derive_seed(plan.dialogue_seed, seed_name, attempt), step)
        try:
            return await accept(ctx.checker.visible(resp, ctx.log, step, field_name, attempt))
        except Rejected as rej:
            ctx.usage.rejected_prompt_tokens += resp.prompt_tokens
            ctx.usage.rejected_completion_tokens += resp.completion_tokens
            if attempt + 1 < attempts:
                ctx.log.note(step, field_name, attempt, rej.drop, "regenerated")
            elif stop_early:
                ctx.log.note(step, field_name, attempt, rej.drop, "stopped")
                return rej
            else:
                raise ctx.give_up(step, field_name, attempt, rej, attempts) from None
    raise AssertionError("unreachable: attempts >= 1")


async def make_persona(
    ctx: StepContext, plan: DialoguePlan, who: str, other: asyncio.Future | None = None
) -> list[str]:
    """Persona ``who``'s sentences. ``other`` (for B): persona A's, awaited before B's sentences are judged
    (against A's: the persona_twin gate) so that B is regenerated when it repeats A."""
    pc = ctx.cfg["persona"]
    cats, demos = (plan.categories_a, plan.demos_a) if who == "A" else (plan.categories_b, plan.demos_b)
    messages = ctx.prompts.persona_messages(ctx.language, cats, pc["sentences"], demos)
    name = f"persona_{who.lower()}"

    async def accept(text: str) -> list[str]:
        sentences = Rejected.unless_parsed(parse_persona, text, pc["sentences"], pc["min_sentences"])
        against: list[str] = []
        if other is not None and ctx.checker.gates is not None:
            with contextlib.suppress(DialogueFailure):  # A failed: B still finishes its own checks
                against = await other
        await ctx.checker.gate(
            [TextItem(f"{name}[{i}]", sentence, (), against) for i, sentence in enumerate(sentences)]
        )
        return sentences

    return await _attempts(ctx, plan, "persona", name, f"persona_{who}", pc["max_attempts"], messages, accept)


async def make_common_ground(
    ctx: StepContext, plan: DialoguePlan, persona_a: list[str], persona_b: list[str]
) -> str:
    messages = ctx.prompts.common_ground_messages(ctx.language, persona_a, persona_b, plan.speech_event)

    async def accept(text: str) -> str:
        common_ground = Rejected.unless_parsed(clean_common_ground, text)
        await ctx.checker.gate([TextItem("common_ground", common_ground, (), persona_a + persona_b)])
        return common_ground

    return await _attempts(
        ctx,
        plan,
        "common_ground",
        "common_ground",
        "common_ground",
        ctx.cfg["common_ground"]["max_attempts"],
        messages,
        accept,
    )


async def make_turns(
    ctx: StepContext, plan: DialoguePlan, persona_a: list[str], persona_b: list[str], common_ground: str
) -> tuple[list[dict], str]:
    """Alternate the two role-play instances. Returns (turns, stop_reason). Before ``min_turns`` a
    rejected turn is asked again (``max_attempts``); from then on it ends the dialogue (stop_reason = its
    tag). Without inline gates, an empty turn or a verbatim repeat of the last ``loop_window`` turns is
    what gets rejected (tags ``empty``, ``loop``)."""
    dc = ctx.cfg["dialogue"]
    other = {"A": "B", "B": "A"}
    history: list[tuple[str, str]] = []
    said: list[str] = []
    recent: list[str] = []
    personas = persona_a + persona_b
    gated = ctx.checker.gates is not None

    async def accept(text: str) -> str:
        text = clean_utterance(text)
        if gated:
            if not text:
                raise Rejected(Drop("parse", "nothing left after removing labels and quotes"), "empty_output")
            await ctx.checker.gate([TextItem(f"turns[{len(history)}]", text, said, personas)])
            return text
        key = normalized_for_loop(text)
        if not key:
            raise Rejected(Drop("parse", "empty turn"), "empty")
        if key in recent[-dc["loop_window"] :]:
            raise Rejected(Drop("repetition", f"repeats one of the last {dc['loop_window']} turns"), "loop")
        return text

    for t in range(plan.num_turns):
        speaker = plan.first_speaker if t % 2 == 0 else other[plan.first_speaker]
        persona = persona_a if speaker == "A" else persona_b
        view = [(s == speaker, text) for s, text in history]
        messages = ctx.prompts.dialogue_messages(
            ctx.language, persona, common_ground, plan.speech_event, view
        )
        may_stop = t >= dc["min_turns"]
        got = await _attempts(
            ctx,
            plan,
            "dialogue",
            f"turns[{t}]",
            f"turn_{t}",
            1 if may_stop else dc["max_attempts"],
            messages,
            accept,
            stop_early=may_stop,
        )
        if isinstance(got, Rejected):
            return [{"speaker": s, "text": x} for s, x in history], got.tag
        history.append((speaker, got))
        said.append(got)
        if not gated:
            recent.append(normalized_for_loop(got))
    return [{"speaker": s, "text": x} for s, x in history], "max_turns"


async def make_dialogue(ctx: StepContext, plan: DialoguePlan) -> dict:
    """Run all steps for one plan; returns the parts of a row (raises DialogueFailure, carrying every
    rejected output of the dialogue). ``ctx`` is this dialogue's own context (``StepContext.fork``): its
    log becomes the row's output metadata."""
    try:
        # both personas finish before a failure is raised (A's first): the outcome never depends on timing
        persona_a_task = asyncio.ensure_future(make_persona(ctx, plan, "A"))
        personas = await asyncio.gather(
            persona_a_task, make_persona(ctx, plan, "B", persona_a_task), return_exceptions=True
        )
        for result in personas:
            if isinstance(result, BaseException):
                raise result
        persona_a, persona_b = personas
        common_ground = await make_common_ground(ctx, plan, persona_a, persona_b)
        turns, stop_reason = await make_turns(ctx, plan, persona_a, persona_b, common_ground)
    except DialogueFailure as failure:
        failure.rejected_outputs = ctx.log.ordered()
        raise
    return {
        "persona_a": persona_a,
        "persona_b": persona_b,
        "common_ground": common_ground,
        "turns": turns,
        "stop_reason": stop_reason,
        "inline_gates": ctx.checker.gates is not None,
        **ctx.log.metadata(),
    }
