"""Retry policy for HTTP LLM calls: which failures are retried, backoff with deterministic jitter,
Retry-After parsing. Reasons are the ``BackendError.reason`` tags."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

REASONS = ("rate_limited", "server_error", "timeout", "connection_error", "bad_response", "client_error")
RETRYABLE = frozenset({"rate_limited", "server_error", "timeout", "connection_error", "bad_response"})
OVERLOAD_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_S = 300.0


class AttemptFailure(Exception):
    """One failed attempt (internal): reason tag, one-line detail, optional Retry-After seconds."""

    def __init__(
        self,
        reason: str,
        detail: str,
        retry_after: float | None = None,
        status: int | None = None,
        connect: bool = False,
    ):
        super().__init__(detail)
        self.reason, self.detail, self.retry_after, self.status, self.connect = (
            reason,
            detail,
            retry_after,
            status,
            connect,
        )

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE


def reason_for_status(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server_error"
    return "client_error"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def backoff_delay(
    attempt: int, base_s: float, max_s: float, key: str, retry_after: float | None = None
) -> float:
    """Exponential backoff ``base * 2**attempt`` (capped at ``max_s``) scaled by a jitter in [0.5, 1)
    drawn deterministically from ``key`` and ``attempt``; never shorter than ``retry_after``."""
    jitter = random.Random(f"{key}:{attempt}").random()
    delay = min(max_s, base_s * (2**attempt)) * (0.5 + 0.5 * jitter)
    return max(delay, retry_after or 0.0)
