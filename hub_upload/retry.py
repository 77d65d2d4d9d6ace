"""Retry transient Hub failures (HTTP 429/5xx, connection errors, timeouts) with exponential backoff."""

from __future__ import annotations

import time
from collections.abc import Callable

from hub_upload.settings import RetryPolicy

__all__ = ["RetryPolicy", "call_with_retries", "describe", "http_status", "is_transient"]


def http_status(exc: BaseException) -> int | None:
    """The HTTP status behind an exception (following ``__cause__``/``__context__``), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return status
        exc = exc.__cause__ or exc.__context__
    return None


def is_transient(exc: BaseException, policy: RetryPolicy) -> bool:
    from huggingface_hub.errors import OfflineModeIsEnabled

    status = http_status(exc)
    if status is not None:
        return status in policy.status_codes
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OfflineModeIsEnabled):
            return False
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        if type(exc).__module__.split(".")[0] in ("httpx", "httpx2") and "TransportError" in [
            c.__name__ for c in type(exc).__mro__
        ]:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe(exc: BaseException) -> str:
    """A short one-line description of a failure (no request headers, so no token)."""
    status = http_status(exc)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"HTTP {status}: {first}" if status is not None else f"{type(exc).__name__}: {first}"


def call_with_retries(
    fn: Callable[[], object],
    policy: RetryPolicy,
    what: str,
    log: Callable[[str], None] = lambda _msg: None,
    sleep: Callable[[float], None] = time.sleep,
):
    """Run ``fn``; on a transient failure wait and retry up to ``policy.attempts`` times, then re-raise."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt == policy.attempts or not is_transient(exc, policy):
                raise
            wait = policy.delay(attempt)
            log(f"{what}: {describe(exc)}; retrying in {wait:.3g}s (attempt {attempt + 1}/{policy.attempts})")
            sleep(wait)
    raise AssertionError("unreachable")
