"""OpenAI-compatible chat backend over plain aiohttp, for one or many servers (vLLM, TGI, SGLang, ...).

    backend = OpenAIBackend("Qwen/Qwen2.5-7B-Instruct", base_url="http://127.0.0.1:8000/v1,http://127.0.0.1:8001/v1")
    await backend.check()                       # GET /models on every endpoint
    resp = await backend.chat(request)          # least-loaded healthy endpoint, retries, AIMD limits
    backend.stats()                             # totals + per-endpoint counters for run summaries

One ``aiohttp.ClientSession`` per event loop (created lazily, keep-alive connector sized to the
concurrency). Each request goes to the healthy endpoint with the lowest in-flight/limit ratio; a
request waits when every endpoint is at its limit. Failures (429, 5xx, 408, timeouts, connection errors,
malformed bodies, answers without choices) are retried with exponential backoff and deterministic
jitter, on another endpoint when one has room; Retry-After is honoured. Other 4xx fail at once. The API
key is only ever sent as ``Authorization: Bearer``; it never appears in errors, logs, stats or describe().
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence

import aiohttp

from moud_core.backends.base import (
    Backend,
    ChatRequest,
    ChatResponse,
)
from moud_core.backends.http_endpoint import Endpoint
from moud_core.backends.http_health import check_endpoints, checked_options
from moud_core.backends.http_retry import (
    OVERLOAD_STATUSES,
    AttemptFailure,
    backoff_delay,
)
from moud_core.backends.http_routing import EndpointPool
from moud_core.backends.openai_wire import (
    connect_problem,
    one_line,
    parse_answer,
    parse_base_urls,
    request_body,
)
from moud_core.errors import BackendError

log = logging.getLogger("moud.http")

DEFAULT_BASE_URL = "http://localhost:8000/v1"


class OpenAIBackend(Backend):
    """Chat completions against one or many OpenAI-compatible ``/v1`` endpoints (see module docstring).

    ``max_concurrency`` is the starting (and maximum) number of requests in flight per endpoint;
    ``timeout`` is per attempt in seconds; ``max_retries`` extra attempts per request.
    ``system_role=False`` folds system text into the first user turn (Gemma-like chat templates).
    ``extra_body`` is merged into every request body (e.g. ``{"top_k": 50}``)."""

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | Sequence[str] = DEFAULT_BASE_URL,
        api_key: str | None = None,
        max_concurrency: int = 64,
        timeout: float = 120.0,
        max_retries: int = 6,
        system_role: bool = True,
        extra_body: dict | None = None,
        *,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        cooldown_s: float = 10.0,
        latency_factor: float = 3.0,
        latency_slack_s: float = 0.5,
        connect_timeout: float = 10.0,
        **unknown,
    ):
        super().__init__(model)
        max_concurrency, max_retries, timeout, backoff_base_s, backoff_max_s = checked_options(
            model, unknown, max_concurrency, max_retries, timeout, backoff_base_s, backoff_max_s, extra_body
        )
        self.base_urls = parse_base_urls(base_url)
        self._api_key = api_key or os.environ.get("MOUD_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
        self.max_concurrency, self.timeout, self.max_retries = max_concurrency, timeout, max_retries
        self.system_role = bool(system_role)
        self.extra_body = dict(extra_body or {})
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.connect_timeout = min(float(connect_timeout), timeout)
        self.endpoints = [
            Endpoint(
                u,
                max_concurrency,
                cooldown_s=cooldown_s,
                latency_factor=latency_factor,
                latency_slack_s=latency_slack_s,
            )
            for u in self.base_urls
        ]
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.pool = EndpointPool(self.endpoints, model)
        self._headers = {"Content-Type": "application/json"}
        if self._api_key:
            self._headers["Authorization"] = f"Bearer {self._api_key}"
        self._totals: Counter = Counter()
        self._errors: Counter = Counter()

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={[e.url for e in self.endpoints]!r})"

    # -- session ----------------------------------------------------------------------------------
    def _ensure_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            # A session belongs to one loop; a new loop (e.g. a second asyncio.run) gets a fresh one.
            self._loop = loop
            self.pool.reset(loop)
            connector = aiohttp.TCPConnector(
                limit=self.max_concurrency * len(self.endpoints) + 8,
                limit_per_host=self.max_concurrency + 4,
                keepalive_timeout=60,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent",),
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=self.connect_timeout),
            )
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                if asyncio.get_running_loop() is self._loop:
                    await session.close()
            except RuntimeError:
                pass

    # -- requests ---------------------------------------------------------------------------------
    def _body(self, request: ChatRequest) -> bytes:
        return request_body(self.model, request, self.system_role, self.extra_body)

    def _scrub(self, text: str) -> str:
        text = one_line(text)
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        return text

    async def _post(self, session: aiohttp.ClientSession, ep: Endpoint, body: bytes) -> ChatResponse:
        try:
            async with session.post(ep.chat_url, data=body) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = resp.headers.get("Retry-After") if status != 200 else None
        except aiohttp.ClientConnectorError as exc:
            raise AttemptFailure(
                "connection_error", f"cannot connect ({connect_problem(exc)})", connect=True
            ) from None
        except (asyncio.TimeoutError, TimeoutError):
            raise AttemptFailure("timeout", f"no answer within {self.timeout:g}s") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError):
            raise AttemptFailure(
                "connection_error", "connection closed before the answer was complete"
            ) from None
        except aiohttp.ClientError as exc:
            raise AttemptFailure("connection_error", f"{type(exc).__name__}: {exc}") from None
        return parse_answer(status, raw, retry_after)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        session = self._ensure_session()
        body: bytes | None = None  # encoded once a slot is free (queued requests hold no body)
        totals = self._totals
        totals["requests"] += 1
        started = 0.0
        avoid: Endpoint | None = None
        attempt = 0
        while True:
            ep = await self.pool.acquire(avoid)
            ep.requests += 1
            if body is None:
                try:
                    body = self._body(request)
                except BaseException:
                    self.pool.release(ep)
                    raise
                started = time.monotonic()  # latency_s: first send to answer, retries included
            t0 = time.monotonic()
            try:
                resp = await self._post(session, ep, body)
            except AttemptFailure as failure:
                self.pool.release(ep)
                self._on_failure(ep, failure, t0)
                if not failure.retryable or attempt >= self.max_retries:
                    totals["failures"] += 1
                    tries = f" after {attempt + 1} attempts" if attempt else ""
                    raise BackendError(
                        self._scrub(f"{ep.url}/chat/completions{tries}: {failure.detail}"), failure.reason
                    ) from None
                ep.retries += 1
                totals["retries"] += 1
                if self.pool.has_alternative(ep) and failure.retry_after is None:
                    delay = 0.0
                else:
                    delay = backoff_delay(
                        attempt,
                        self.backoff_base_s,
                        self.backoff_max_s,
                        f"{request.seed}:{len(body)}",
                        failure.retry_after,
                    )
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "retry %d in %.2fs after %s at %s: %s",
                        attempt + 1,
                        delay,
                        failure.reason,
                        ep.url,
                        self._scrub(failure.detail),
                    )
                attempt += 1
                avoid = ep
                if delay > 0:
                    await asyncio.sleep(delay)
                continue
            except BaseException:
                self.pool.release(ep)
                raise
            now = time.monotonic()
            grew = ep.on_success(now - t0, resp.completion_tokens, now)
            self.pool.release(ep, wake_all=grew)
            ep.prompt_tokens += resp.prompt_tokens
            ep.completion_tokens += resp.completion_tokens
            totals["successes"] += 1
            totals["prompt_tokens"] += resp.prompt_tokens
            totals["completion_tokens"] += resp.completion_tokens
            resp.latency_s = now - started
            return resp

    def _on_failure(self, ep: Endpoint, failure: AttemptFailure, sent_at: float) -> None:
        now = time.monotonic()
        ep.errors[failure.reason] += 1
        self._errors[failure.reason] += 1
        if failure.connect:
            was_healthy = ep.healthy
            ep.on_connect_error(now)
            if was_healthy:
                log.warning(
                    "endpoint %s is down (%s); re-probing in %.0fs", ep.url, failure.detail, ep.retry_at - now
                )
        elif failure.reason == "timeout" or failure.status in OVERLOAD_STATUSES:
            ep.on_overload(now, sent_at)
        if failure.retry_after is not None:
            ep.block(now + failure.retry_after)

    # -- health check -----------------------------------------------------------------------------
    async def check(self) -> None:
        """GET /models on every endpoint (``http_health.check_endpoints``): unreachable endpoints are marked
        down, endpoints that do not list the model are disabled; BackendError when none is usable."""
        await check_endpoints(
            self._ensure_session(), self.endpoints, self.model, self.timeout, self.connect_timeout
        )

    # -- reporting --------------------------------------------------------------------------------
    def describe(self) -> dict:
        return {
            "backend": self.name,
            "model": self.model,
            "base_url": [ep.url for ep in self.endpoints],
            "max_concurrency": self.max_concurrency,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "system_role": self.system_role,
            "extra_body": dict(self.extra_body),
        }

    def stats(self) -> dict:
        """Totals (requests = chat calls) and per-endpoint counters (requests = attempts sent there)."""
        t = self._totals
        return {
            "requests": t["requests"],
            "successes": t["successes"],
            "failures": t["failures"],
            "retries": t["retries"],
            "errors": dict(self._errors),
            "prompt_tokens": t["prompt_tokens"],
            "completion_tokens": t["completion_tokens"],
            "endpoints": [ep.stats() for ep in self.endpoints],
        }
