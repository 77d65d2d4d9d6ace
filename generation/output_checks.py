"""What happens to each model output before it may enter a dialogue.

In order: reasoning is removed (``generation/reasoning.py``); an answer that was only reasoning, or
nothing, is rejected; an answer cut at ``max_tokens`` (``finish_reason == "length"``) is trimmed to its
last complete sentence (``on_truncated: trim``; rejected when nothing complete is left) or rejected
(``on_truncated: regenerate``); then the step parses it, and the inline gates (``TextGates``, the same
per-text code ``moud filter`` runs) judge every persona sentence, the common ground and every turn.

A rejected output never enters the dialogue: the step asks again with a new derived seed. Every verdict is
one ``Drop`` (``moud_core.drop``: the gate's own, or truncation / reasoning / parse), raised inside a
``Rejected``. Every request and every rejected or trimmed output is written down in an ``OutputLog``, which
becomes the row's ``metadata.step_attempts`` / ``rejected_outputs`` / ``reasoning_tokens`` (or the failure
record's ``rejected_outputs`` when the step gives up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import regex

from generation.check_batch import LoopTurnBatch, first_drops
from generation.parsing import ParseFailure
from generation.reasoning import strip_reasoning
from moud_core.backends.base import ChatResponse, reasoning_token_share
from moud_core.drop import Drop
from moud_core.records import rejection_record
from moud_core.schema import STEPS
from moud_gates.base import TextItem

if TYPE_CHECKING:
    from moud_core.forked_worker import ForkedWorker
    from moud_gates.inline import TextGates

TRUNCATION_POLICIES = ("trim", "regenerate")

# A sentence ends at terminal punctuation (then closing quotes/brackets) followed by a space or the end of
# the text (not a list number such as "3. "), at CJK terminal punctuation, or at a line break.
_SENTENCE_END = regex.compile(
    r"(?:(?<!^[ \t]*\d{1,3})[.!?…।؟۔]+(?:[ \u00a0\u202f]?[\"'”’»」』)\]）])*(?=\s|$))"
    r"|(?:[。！？]+[」』”’)）]*)|\n",
    regex.M,
)


class Rejected(Exception):
    """An output that may not enter the dialogue, and the verdict on it (``drop``). ``tag`` is the failure
    reason recorded when the step gives up (and a dialogue's stop reason): ``rejected_<gate>`` for the
    quality gates, else ``truncated``, ``reasoning_only``, ``empty_output`` or a parser tag."""

    def __init__(self, drop: Drop, tag: str | None = None):
        self.drop, self.tag = drop, f"rejected_{drop.gate}" if tag is None else tag
        super().__init__(f"{self.tag}: {drop.reason}")

    @classmethod
    def unless_parsed(cls, parse, *args):
        """``parse(*args)``, its ParseFailure raised as a Rejected (gate "parse", tag = the parser's)."""
        try:
            return parse(*args)
        except ParseFailure as exc:
            raise cls(Drop("parse", exc.detail or exc.reason), exc.reason) from None


class Rejection(NamedTuple):
    """One rejected (or trimmed) output: the step, its field (``persona_a``, ``common_ground``, ``turns[3]``),
    the attempt, the verdict and what followed."""

    step: str
    field: str
    attempt: int
    drop: Drop
    action: str


@dataclass
class OutputLog:
    """One dialogue's record of requests per step, rejected/trimmed outputs and reasoning tokens."""

    step_attempts: dict = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    rejected: list[Rejection] = field(default_factory=list)
    reasoning_tokens: int = 0

    def note(self, step: str, field_name: str, attempt: int, drop: Drop, action: str) -> None:
        """``action``: regenerated (asked again), stopped (the dialogue ended there), failed (the step gave
        up) or trimmed (the complete sentences of a truncated output were kept)."""
        self.rejected.append(Rejection(step, field_name, attempt, drop, action))

    def ordered(self) -> list[dict]:
        """The ``rejected_outputs`` records in step order, persona A's before B's (the two personas are made
        concurrently)."""
        notes = sorted(
            self.rejected, key=lambda r: (STEPS.index(r.step), r.field if r.step == "persona" else "")
        )
        return [rejection_record(*note) for note in notes]

    def metadata(self) -> dict:
        return {
            "step_attempts": dict(self.step_attempts),
            "rejected_outputs": self.ordered(),
            "reasoning_tokens": self.reasoning_tokens,
        }


def trim_to_sentence(text: str) -> str:
    """``text`` up to the end of its last complete sentence ("" when there is none)."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]].strip() if ends else ""


@dataclass
class OutputChecker:
    """The checks of one language; ``gates`` is None when inline gates are off."""

    language: str
    gates: TextGates | None = None  # or anything with its prefill and check
    on_truncated: str = "trim"
    worker: ForkedWorker | None = None  # a gate_process worker (None: check in this process)
    _batch: LoopTurnBatch | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.gates is not None:
            self._batch = LoopTurnBatch(self._check_outputs)

    def _check_outputs(self, outputs: list):
        if self.worker is None:
            return first_drops(self.gates, self.language, outputs)
        return self.worker.call(self.language, outputs)

    def visible(self, resp: ChatResponse, log: OutputLog, step: str, field_name: str, attempt: int) -> str:
        """The answer without reasoning, truncation handled (trimmed outputs are noted in ``log``).
        Raises Rejected."""
        vis = strip_reasoning(resp.text or "")
        answer_tokens = resp.completion_tokens - resp.reasoning_tokens
        log.reasoning_tokens += resp.reasoning_tokens + reasoning_token_share(
            answer_tokens, vis.reasoning_chars, len(vis.text)
        )
        text = vis.text.strip()
        if not text:
            if vis.reasoning_chars or resp.reasoning_tokens:
                where = "unclosed reasoning block" if vis.unclosed else "reasoning"
                raise Rejected(
                    Drop("reasoning", f"the answer held only {where}, no content"), "reasoning_only"
                )
            raise Rejected(Drop("parse", "empty answer"), "empty_output")
        if resp.finish_reason != "length":
            return text
        cut = " ".join(text[-40:].split())
        if self.on_truncated == "trim":
            kept = trim_to_sentence(text)
            if kept:
                if kept != text:
                    dropped = " ".join(text[len(kept) :].split())[:60]
                    reason = (
                        f"cut at max_tokens; kept {len(kept)} of {len(text)} characters, dropped {dropped!r}"
                    )
                    log.note(step, field_name, attempt, Drop("truncation", reason), "trimmed")
                return kept
            raise Rejected(
                Drop("truncation", f"cut at max_tokens with no complete sentence: …{cut!r}"), "truncated"
            )
        raise Rejected(Drop("truncation", f"cut at max_tokens: …{cut!r}"), "truncated")

    async def gate(self, items: Sequence[TextItem]) -> None:
        """Raise Rejected for the first of ``items`` (one output's texts, in order) that the inline gates
        drop (no-op when they are off). Outputs of dialogues in flight are checked together
        (``check_batch``), in a worker process when there is a ``worker``."""
        if self.gates is None or not items:
            return
        drop = await self._batch.submit(list(items))
        if drop is not None:
            raise Rejected(drop)


def load_text_gates(cfg, registry) -> TextGates | None:
    """The inline gates of a run config (None with ``inline_gates: false``): ``TextGates`` built from the
    run's ``filter_config`` (the same thresholds ``moud filter --config`` would use)."""
    if not cfg["inline_gates"]:
        return None
    from moud_gates.inline import TextGates

    return TextGates.from_config(cfg["filter_config"], registry=registry)
