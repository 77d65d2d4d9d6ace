"""What ``moud generate`` says when it made nothing: the most frequent reasons over all attempts, the
server's own words, and advice that fits the cause (data: ``data/failure_advice.yaml``)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from generation.summary import RunSummary
from moud_core.records import BACKEND_FAILURE_REASONS
from moud_core.yamlio import load_yaml

DATA = Path(__file__).parent / "data" / "failure_advice.yaml"
_ENDPOINT = re.compile(r"(https?://\S+?)/chat/completions\b")


@functools.cache
def _advice() -> dict:
    return load_yaml(DATA)


def base_url_hint(detail: str) -> str | None:
    """On an HTTP 404 from a base URL without ``/v1``: the URL with it."""
    m = _ENDPOINT.search(detail or "")
    if "HTTP 404" not in (detail or "") or not m or m.group(1).rstrip("/").endswith("/v1"):
        return None
    return _advice()["no_v1"].format(suggestion=f"--base-url {m.group(1).rstrip('/')}/v1")


def server_words(summary: RunSummary) -> list[str]:
    """The first message of each distinct backend failure, most frequent first, with the /v1 hint."""
    words = []
    for key, _ in summary.failure_reasons.most_common():
        detail = summary.failure_details.get(key)
        if detail and key.rpartition("/")[2] in BACKEND_FAILURE_REASONS:
            hint = base_url_hint(detail)
            words.append(_advice()["backend"].format(detail=detail) + (f"; {hint}" if hint else ""))
    return words


def nothing_made(summary: RunSummary, out, languages: str) -> str:
    """The one-line error of a run that made no dialogue (``languages``: their names, for the advice)."""
    reasons = ", ".join(f"{r} x{n}" for r, n in summary.failure_reasons.most_common(3))
    parts = [f"no dialogue was made: all {summary.failed} failed ({reasons})"]
    words = server_words(summary)
    if words:
        parts.append(words[0])
    if summary.rejected:
        top = ", ".join(f"{who} x{n}" for who, n in summary.rejected_by.most_common(3))
        parts.append(f"over all attempts {summary.rejected} output(s) were rejected, most by: {top}")
        data = _advice()
        entry = data["gates"].get(summary.rejected_by.most_common(1)[0][0], data["default"])
        parts.append(f"{out} is kept: " + entry["text"].format(language=languages))
    elif not words:
        parts.append(f"{out} is kept: " + _advice()["default"]["text"])
    return "; ".join(parts)
