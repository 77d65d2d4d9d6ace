"""One OpenAI-compatible endpoint's state: health, adaptive concurrency limit (AIMD) and counters.

Pure bookkeeping (no I/O, no asyncio) so the routing and AIMD rules can be unit-tested directly.

- Health: a connection failure marks the endpoint down; after ``cooldown_s`` (doubling per consecutive
  failure, at most 32x) one probe request may go there; a success marks it healthy again.
- AIMD: the limit starts at ``max_limit``; it halves on overload (429/503/timeouts) and when the latency
  signal (seconds per completion token, EWMA) rises ``latency_factor`` times above its baseline while the
  EWMA latency exceeds ``latency_slack_s``; each success adds ``1/limit`` (about +1 per round trip).
  A failure or slow answer counts only if its request was sent after the last decrease (and decreases
  are at least 50 ms apart), so a burst of failures from one window of requests halves the limit once.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit, urlunsplit

EWMA_ALPHA = 0.2  # weight of a new latency sample
BASELINE_DRIFT = 0.01  # how fast the baseline follows a higher signal (it drops to a lower one at once)
MIN_SAMPLES = 20  # no latency-driven decrease before this many successes
MIN_DECREASE_GAP_S = 0.05


def redact_url(url: str) -> str:
    """The URL without user:password@ (safe for logs, errors, stats)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class Endpoint:
    """State of one base URL. ``capacity()`` is how many requests may be in flight now."""

    def __init__(
        self,
        base_url: str,
        max_limit: int,
        cooldown_s: float = 10.0,
        latency_factor: float = 3.0,
        latency_slack_s: float = 0.5,
        min_limit: int = 1,
    ):
        self.base_url = base_url.rstrip("/")
        self.url = redact_url(self.base_url)
        self.chat_url = self.base_url + "/chat/completions"
        self.models_url = self.base_url + "/models"
        self.max_limit, self.min_limit = max_limit, max(1, min(min_limit, max_limit))
        self.cooldown_s, self.latency_factor, self.latency_slack_s = (
            cooldown_s,
            latency_factor,
            latency_slack_s,
        )
        self.limit = float(max_limit)
        self.lowest_limit = self.limit
        self.in_flight = 0
        self.healthy = True
        self.disabled = False  # e.g. does not serve the model (set by check())
        self.retry_at = 0.0  # when a down endpoint may be probed again
        self.blocked_until = 0.0  # Retry-After from this endpoint
        self.down_count = 0
        self.ewma_latency: float | None = None
        self.ewma_signal: float | None = None
        self.baseline_signal: float | None = None
        self.samples = 0
        self.last_decrease = -1e18
        self.requests = self.successes = self.retries = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.errors: Counter = Counter()
        self.decreases: Counter = Counter()  # why the limit was halved: overload / latency

    # -- routing ----------------------------------------------------------------------------------
    def capacity(self) -> int:
        return 1 if not self.healthy else max(self.min_limit, int(self.limit))

    def usable(self, now: float) -> bool:
        """Healthy (or due for a probe) and not asked to back off."""
        return not self.disabled and (self.healthy or now >= self.retry_at) and now >= self.blocked_until

    def has_room(self) -> bool:
        return self.in_flight < self.capacity()

    def load(self) -> float:
        return self.in_flight / self.capacity()

    # -- outcomes ---------------------------------------------------------------------------------
    def on_success(self, latency_s: float, completion_tokens: int, now: float) -> bool:
        """Record a success; return True when capacity grew (waiters should be woken)."""
        before = self.capacity()
        self.successes += 1
        if not self.healthy:
            self.healthy, self.down_count = True, 0
        signal = latency_s / max(1, completion_tokens)
        if self.ewma_latency is None:
            self.ewma_latency, self.ewma_signal, self.baseline_signal = latency_s, signal, signal
        else:
            self.ewma_latency += EWMA_ALPHA * (latency_s - self.ewma_latency)
            self.ewma_signal += EWMA_ALPHA * (signal - self.ewma_signal)
            if self.ewma_signal < self.baseline_signal:
                self.baseline_signal = self.ewma_signal
            else:
                self.baseline_signal += BASELINE_DRIFT * (self.ewma_signal - self.baseline_signal)
        self.samples += 1
        if (
            self.samples >= MIN_SAMPLES
            and self.ewma_latency > self.latency_slack_s
            and self.ewma_signal > self.latency_factor * self.baseline_signal
        ):
            self._decrease(now, "latency", sent_at=now - latency_s)
        elif self.limit < self.max_limit:
            self.limit = min(float(self.max_limit), self.limit + 1.0 / self.limit)
        return self.capacity() > before

    def on_overload(self, now: float, sent_at: float | None = None) -> None:
        """429 / 503 / timeout of a request sent at ``sent_at``: multiplicative decrease."""
        self._decrease(now, "overload", sent_at)

    def on_connect_error(self, now: float) -> None:
        """Could not connect: down until the cooldown (doubling per consecutive failure) has passed."""
        self.healthy = False
        self.retry_at = now + self.cooldown_s * (2 ** min(self.down_count, 5))
        self.down_count += 1

    def block(self, until: float) -> None:
        self.blocked_until = max(self.blocked_until, until)

    def _decrease(self, now: float, why: str, sent_at: float | None = None) -> None:
        if now - self.last_decrease < MIN_DECREASE_GAP_S or (
            sent_at is not None and sent_at < self.last_decrease
        ):
            return
        self.last_decrease = now
        new = max(float(self.min_limit), self.limit / 2)
        if new < self.limit:
            self.limit = new
            self.lowest_limit = min(self.lowest_limit, new)
            self.decreases[why] += 1

    def stats(self) -> dict:
        return {
            "url": self.url,
            "healthy": self.healthy,
            "disabled": self.disabled,
            "requests": self.requests,
            "successes": self.successes,
            "retries": self.retries,
            "errors": dict(self.errors),
            "limit": round(self.limit, 2),
            "max_limit": self.max_limit,
            "lowest_limit": round(self.lowest_limit, 2),
            "limit_decreases": dict(self.decreases),
            "in_flight": self.in_flight,
            "ewma_latency_s": None if self.ewma_latency is None else round(self.ewma_latency, 4),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
