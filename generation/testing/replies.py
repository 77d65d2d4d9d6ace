"""What a fake-server responder answers: ``responder(body) -> str | Reply`` (``fake_openai.py`` serves it;
the scripted crowdworker, slips and faults make and wrap responders)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Reply:
    content: str | None = None  # assistant text (ignored when raw/status set)
    status: int = 200  # HTTP status; non-200 sends an OpenAI-style error body
    delay: float = 0.0  # seconds to wait before answering
    raw: bytes | None = None  # exact response body (e.g. truncated JSON)
    drop: bool = False  # close the connection without answering
    finish_reason: str = "stop"
    headers: dict | None = None
    reasoning: str | None = None  # sent as message.reasoning_content (vLLM with --reasoning-parser)
    error: str | None = None  # the error message of a non-200 answer


Responder = Callable[[dict], "str | Reply"]


def echo_responder(body: dict) -> str:
    return body["messages"][-1]["content"] if body.get("messages") else ""
