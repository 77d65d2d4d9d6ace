"""The one async interface every LLM backend implements.

    backend = make_backend("openai", model="meta-llama/Llama-3.1-8B-Instruct", base_url="http://localhost:8000/v1")
    resp = await backend.chat(ChatRequest(messages=(...), sampling=SamplingParams(), seed=1))
    resps = await backend.generate([req1, req2])   # concurrent; in-process backends batch them

``chat`` raises ``BackendError`` (with a ``reason`` tag) once retries are exhausted.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from moud_core.errors import BackendError


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 256
    repetition_penalty: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0

    def to_dict(self) -> dict:
        return dict(self._as_dict)

    @functools.cached_property
    def _as_dict(self) -> dict:
        return asdict(self)

    @functools.cached_property
    def key_text(self) -> str:
        return json.dumps(self._as_dict, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict | None, where: str = "sampling") -> SamplingParams:
        from moud_core.errors import ConfigError

        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(
                f"{where}: unknown sampling parameter(s) {', '.join(sorted(unknown))}; "
                f"expected {', '.join(cls.__dataclass_fields__)}"
            )
        try:
            params = cls(**{k: (int(v) if k == "max_tokens" else float(v)) for k, v in data.items()})
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: sampling parameters must be numbers") from None
        if params.max_tokens < 1 or not 0 < params.top_p <= 1 or params.temperature < 0:
            raise ConfigError(f"{where}: expected max_tokens >= 1, 0 < top_p <= 1, temperature >= 0")
        return params


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[tuple[str, str], ...]  # ((role, content), ...) — hashable and ordered
    sampling: SamplingParams = field(default_factory=SamplingParams)
    seed: int = 0

    @classmethod
    def from_messages(cls, messages: Sequence[dict], sampling: SamplingParams, seed: int) -> ChatRequest:
        return cls(tuple((m["role"], m["content"]) for m in messages), sampling, int(seed))

    def message_dicts(self) -> list[dict]:
        return [{"role": r, "content": c} for r, c in self.messages]

    def cache_key(self, model: str) -> str:
        """sha256 over model, messages, sampling parameters and seed (length-prefixed, unambiguous)."""
        parts = [model, self.sampling.key_text, str(self.seed)]
        for role, content in self.messages:
            parts += (role, content)
        framed = []
        for part in parts:
            data = part.encode("utf-8")
            framed += (len(data).to_bytes(8, "big"), data)
        return hashlib.sha256(b"".join(framed)).hexdigest()


@dataclass
class ChatResponse:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "length": cut at max_tokens
    latency_s: float = 0.0
    cached: bool = False
    reasoning_tokens: int = 0  # completion tokens spent on reasoning the server returned apart from
    # the content (vLLM ``reasoning_content``); counted, never parsed


def reasoning_token_share(completion_tokens: int, reasoning_chars: int, answer_chars: int) -> int:
    """Completion tokens attributed to reasoning when the server does not report them: the reasoning's
    share of the characters (at least 1 when there was any reasoning)."""
    if reasoning_chars <= 0:
        return 0
    total = reasoning_chars + max(0, answer_chars)
    return max(1, round(completion_tokens * reasoning_chars / total))


def fold_system_messages(messages: list[dict]) -> list[dict]:
    """For chat models without a system role (e.g. Gemma): prepend system text to the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    if rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    else:
        rest.insert(0, {"role": "user", "content": system})
    return rest


class Backend(ABC):
    """Async chat-completion backend. Subclasses implement ``chat``; ``generate`` fans out."""

    name: str = "base"

    def __init__(self, model: str):
        self.model = model

    @abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResponse:
        """One completion for one request; raises BackendError after retries."""

    async def generate(self, requests: Sequence[ChatRequest], return_exceptions: bool = False):
        """Completions for many requests, in order. With ``return_exceptions`` failures come back as
        BackendError items instead of raising."""
        results = await asyncio.gather(*(self.chat(r) for r in requests), return_exceptions=return_exceptions)
        if return_exceptions:
            return [
                r
                if not isinstance(r, BaseException) or isinstance(r, BackendError)
                else BackendError(str(r), "unexpected_error")
                for r in results
            ]
        return list(results)

    async def check(self) -> None:
        """Raise BackendError with an actionable message if the backend is unusable (unreachable...)."""
        return None

    async def aclose(self) -> None:
        """Release connections, threads, GPU memory."""
        return None

    def describe(self) -> dict:
        return {"backend": self.name, "model": self.model}
