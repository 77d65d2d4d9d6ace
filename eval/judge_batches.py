"""LLM-as-a-judge: scores items with a rubric through any ``moud_core.backends`` Backend.

Items of the same language and kind are grouped into batches of ``batch_size`` per request. Each
answer is parsed per item; unparsable, refused or out-of-range answers are re-asked (only the failing
items, with a new seed) up to ``max_attempts`` times, then recorded as judge failures (``status:
"failed"``, ``scores: null``), never as low scores. ``repeats > 1`` re-judges every batch; odd repeats
are position-swapped (batch order reversed, the two personas presented in the other order) so
``eval.aggregate.consistency`` can measure judge consistency. Seeds derive from (seed, repeat,
attempt, item ids): same inputs and seed -> same requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eval.items import Item
from eval.parse import Parsed, parse_answer
from eval.prompt import build_messages, load_templates
from eval.rubric import Rubric
from moud_core.backends.base import Backend, ChatRequest, SamplingParams
from moud_core.errors import BackendError
from moud_core.languages import Language, get_language, load_registry
from moud_core.seeds import derive_seed
from moud_core.typed_config import at_least, build


@dataclass(frozen=True)
class JudgeConfig:
    """The judge's settings: ``from_options`` checks types and ranges; manifests record ``describe``."""

    judge_model: str
    rubric: Rubric
    seed: int = 0
    batch_size: int = field(default=1, metadata=at_least(1))
    repeats: int = field(default=1, metadata=at_least(1))
    max_attempts: int = field(default=3, metadata=at_least(1))
    temperature: float = field(default=0.0, metadata=at_least(0))
    retry_temperature: float = field(default=0.7, metadata=at_least(0))
    max_tokens_per_item: int = field(default=400, metadata=at_least(1))
    batches_per_wave: int = field(default=64, metadata=at_least(1))
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict, where: str = "command line", label=None) -> JudgeConfig:
        """A checked config from a mapping of options (``label(field)``: how to name a field in an error,
        e.g. as its flag)."""
        return build(cls, options, where, label=label)

    def describe(self) -> dict:
        return {
            "judge_model": self.judge_model,
            "rubric_version": self.rubric.version,
            "rubric_fingerprint": self.rubric.fingerprint(),
            "rubric_source": self.rubric.source,
            "prompt_version": load_templates()["version"],
            "seed": self.seed,
            "batch_size": self.batch_size,
            "repeats": self.repeats,
            "max_attempts": self.max_attempts,
            "temperature": self.temperature,
            "retry_temperature": self.retry_temperature,
            "max_tokens_per_item": self.max_tokens_per_item,
            **self.extra,
        }


@dataclass
class _Job:
    items: list[Item]  # as presented (swapped repeats are reversed)
    repeat: int
    done: dict[str, tuple[Parsed, int, int]] = field(default_factory=dict)  # id -> (parsed, attempt, seed)
    last: dict[str, tuple[Parsed, int]] = field(default_factory=dict)  # id -> (failure, seed)

    @property
    def swapped(self) -> bool:
        return self.repeat % 2 == 1

    def pending(self) -> list[Item]:
        return [i for i in self.items if i.item_id not in self.done]


def batches(items: Iterable[Item], batch_size: int) -> Iterator[list[Item]]:
    """Group a stream into batches of one (language, kind); order follows the first item of each batch."""
    open_: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        key = (item.language, item.kind)
        group = open_.setdefault(key, [])
        group.append(item)
        if len(group) >= batch_size:
            yield open_.pop(key)
    yield from open_.values()


class Judge:
    def __init__(self, backend: Backend, config: JudgeConfig, registry: dict[str, Language] | None = None):
        if config.batch_size < 1 or config.repeats < 1 or config.max_attempts < 1:
            raise ValueError("batch_size, repeats and max_attempts must be >= 1")
        self.backend, self.config = backend, config
        self.registry = registry if registry is not None else load_registry()
        self._meta = {
            "judge_model": config.judge_model,
            "rubric_version": config.rubric.version,
            "prompt_version": load_templates()["version"],
        }

    def _request(self, items: list[Item], job: _Job, attempt: int) -> ChatRequest:
        cfg = self.config
        criteria = cfg.rubric.for_kind(items[0].kind)
        messages = build_messages(
            items, criteria, get_language(items[0].language, self.registry), job.swapped
        )
        sampling = SamplingParams(
            temperature=cfg.temperature if attempt == 1 else cfg.retry_temperature,
            top_p=1.0,
            max_tokens=cfg.max_tokens_per_item * len(items) + 64,
        )
        seed = derive_seed(cfg.seed, job.repeat, attempt, *(i.item_id for i in items))
        return ChatRequest.from_messages(messages, sampling, seed)

    async def _run_wave(self, jobs: list[_Job]) -> None:
        for attempt in range(1, self.config.max_attempts + 1):
            work = [(job, job.pending()) for job in jobs if job.pending()]
            if not work:
                return
            requests = [self._request(items, job, attempt) for job, items in work]
            responses = await self.backend.generate(requests, return_exceptions=True)
            for (job, items), req, resp in zip(work, requests, responses, strict=True):
                ids = [i.item_id for i in items]
                if isinstance(resp, BackendError):
                    parsed = {
                        i: Parsed(reason=resp.reason or "backend_error", detail=str(resp)[:200]) for i in ids
                    }
                else:
                    names = [c.name for c in self.config.rubric.for_kind(items[0].kind)]
                    parsed = parse_answer(resp.text, ids, names, resp.finish_reason)
                for item_id, p in parsed.items():
                    if p.scores is not None:
                        job.done[item_id] = (p, attempt, req.seed)
                    else:
                        job.last[item_id] = (p, req.seed)

    def _records(self, job: _Job) -> Iterator[dict]:
        for position, item in enumerate(job.items):
            base = {
                "item_id": item.item_id,
                "row_id": item.row_id,
                "kind": item.kind,
                "language": item.language,
                "generator_model": item.generator_model,
                "speech_event": item.speech_event,
                "repeat": job.repeat,
                "swapped": job.swapped,
                "batch_size": len(job.items),
                "position": position,
                **self._meta,
            }
            if item.item_id in job.done:
                p, attempt, seed = job.done[item.item_id]
                yield {
                    **base,
                    "status": "ok",
                    "scores": p.scores,
                    "rationale": p.rationale,
                    "failure_reason": "",
                    "attempts": attempt,
                    "seed": seed,
                }
            else:
                p, seed = job.last[item.item_id]
                yield {
                    **base,
                    "status": "failed",
                    "scores": None,
                    "rationale": "",
                    "failure_reason": p.reason,
                    "failure_detail": p.detail,
                    "attempts": self.config.max_attempts,
                    "seed": seed,
                }

    async def ajudge(self, items: Iterable[Item], on_records: Callable[[list[dict]], None]) -> None:
        """Judge a stream of items wave by wave; ``on_records`` gets each wave's records in order."""
        wave: list[_Job] = []

        async def flush():
            await self._run_wave(wave)
            on_records([r for job in wave for r in self._records(job)])
            wave.clear()

        for batch in batches(items, self.config.batch_size):
            for repeat in range(self.config.repeats):
                wave.append(_Job(list(reversed(batch)) if repeat % 2 else list(batch), repeat))
            if len(wave) >= self.config.batches_per_wave:
                await flush()
        if wave:
            await flush()

    def judge(self, items: Iterable[Item]) -> list[dict]:
        """Synchronous convenience: all records for ``items`` (holds them in memory); runs its own event
        loop and closes the backend's connections at the end."""
        out: list[dict] = []

        async def main():
            try:
                await self.ajudge(items, out.extend)
            finally:
                await self.backend.aclose()

        asyncio.run(main())
        return out
