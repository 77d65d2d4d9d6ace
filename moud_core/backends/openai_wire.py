"""The OpenAI chat-completions wire format: request bodies, answers (content, usage, reasoning counted
but never kept), error bodies, model listings, and one-line descriptions of what went wrong."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlsplit

import aiohttp

from moud_core.backends.base import ChatRequest, ChatResponse, fold_system_messages, reasoning_token_share
from moud_core.backends.http_retry import AttemptFailure, parse_retry_after, reason_for_status
from moud_core.errors import ConfigError
from moud_core.jsonl import dumps_line


def parse_base_urls(base_url: str | Sequence[str]) -> list[str]:
    """A URL, a comma-separated string of URLs, or a list of them -> de-duplicated list (order kept)."""
    items = base_url.split(",") if isinstance(base_url, str) else list(base_url)
    urls: list[str] = []
    for item in items:
        url = str(item).strip().rstrip("/")
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base_url: expected http(s)://HOST:PORT/v1, got {url!r}")
        if url not in urls:
            urls.append(url)
    if not urls:
        raise ConfigError("base_url: expected at least one http(s)://HOST:PORT/v1 URL")
    return urls


def reasoning_tokens(message: dict, usage: dict, completion_tokens: int, answer_chars: int) -> int:
    """Tokens of the reasoning a server returns apart from the content (vLLM ``reasoning_content``,
    ``reasoning``): as reported in ``usage.completion_tokens_details``, else estimated by its share of
    the characters. The reasoning text itself is never kept."""
    details = usage.get("completion_tokens_details")
    reported = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if isinstance(reported, int) and reported > 0:
        return reported
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    return (
        reasoning_token_share(completion_tokens, len(reasoning), answer_chars)
        if isinstance(reasoning, str)
        else 0
    )


def one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def connect_problem(exc: aiohttp.ClientConnectorError) -> str:
    err = exc.os_error
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    return one_line(getattr(err, "strerror", None) or type(err).__name__, 80).lower()


def request_body(model: str, request: ChatRequest, system_role: bool, extra_body: dict) -> bytes:
    messages = request.message_dicts()
    if not system_role:
        messages = fold_system_messages(messages)
    s = request.sampling
    body = {
        "model": model,
        "messages": messages,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "seed": request.seed,
        "frequency_penalty": s.frequency_penalty,
        "presence_penalty": s.presence_penalty,
    }
    if s.repetition_penalty != 1.0:
        body["repetition_penalty"] = s.repetition_penalty
    if extra_body:
        body.update(extra_body)
    return dumps_line(body).encode("utf-8")  # json.dumps(..., ensure_ascii=False), byte for byte


def parse_answer(status: int, raw: bytes, retry_after: str | None) -> ChatResponse:
    """The answer of one POST /chat/completions, or AttemptFailure (error status, malformed body, no
    choices)."""
    if status != 200:
        message = raw[:500].decode("utf-8", "replace")
        try:
            err = json.loads(raw)
            if isinstance(err, dict):
                err = err.get("error", err)
                message = err.get("message", message) if isinstance(err, dict) else str(err)
        except ValueError:
            pass
        raise AttemptFailure(
            reason_for_status(status),
            f"HTTP {status}: {message}",
            retry_after=parse_retry_after(retry_after),
            status=status,
        )
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
    except ValueError:
        raise AttemptFailure("bad_response", f"malformed JSON body ({len(raw)} bytes)") from None
    except (KeyError, IndexError, TypeError):
        raise AttemptFailure("bad_response", "answer without choices") from None
    if not isinstance(choice, dict):
        raise AttemptFailure("bad_response", "answer without choices")
    message = choice.get("message") or {}
    if not isinstance(message, dict):
        message = {}
    text = message.get("content")
    if text is None:
        text = choice.get("text") or ""
    usage = data.get("usage") or {}
    completion = int(usage.get("completion_tokens") or 0)
    return ChatResponse(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=completion,
        finish_reason=choice.get("finish_reason") or "stop",
        reasoning_tokens=reasoning_tokens(message, usage, completion, len(text)),
    )


def model_ids(raw: bytes) -> list[str] | None:
    """The model ids of a GET /models answer (None when the listing is unusable)."""
    try:
        return [m["id"] for m in json.loads(raw)["data"]]
    except (ValueError, KeyError, TypeError):
        return None
