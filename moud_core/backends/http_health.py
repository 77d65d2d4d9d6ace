"""Health check of OpenAI-compatible endpoints (GET /models) and the openai backend's option checks."""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

import aiohttp

from moud_core.backends.http_endpoint import Endpoint
from moud_core.backends.openai_wire import connect_problem, model_ids
from moud_core.errors import BackendError, ConfigError

log = logging.getLogger("moud.http")

OPTIONS = (
    "base_url, api_key, max_concurrency, timeout, max_retries, system_role, extra_body, backoff_base_s, "
    "backoff_max_s, cooldown_s, latency_factor, latency_slack_s, connect_timeout"
)


def checked_options(
    model, unknown: dict, max_concurrency, max_retries, timeout, backoff_base_s, backoff_max_s, extra_body
) -> tuple[int, int, float, float, float]:
    """The numeric options as numbers, or a ConfigError naming what is wrong."""
    if unknown:
        raise ConfigError(
            f"backend_options: unknown option(s) {', '.join(sorted(unknown))} for the openai "
            f"backend; expected {OPTIONS}"
        )
    if not model or not isinstance(model, str):
        raise ConfigError("model: expected a non-empty model name")
    try:
        max_concurrency, max_retries = int(max_concurrency), int(max_retries)
        timeout, backoff_base_s, backoff_max_s = (
            float(timeout),
            float(backoff_base_s),
            float(backoff_max_s),
        )
    except (TypeError, ValueError):
        raise ConfigError("max_concurrency/max_retries must be integers and timeout a number") from None
    if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
        raise ConfigError(
            f"expected max_concurrency >= 1, max_retries >= 0, timeout > 0; got "
            f"{max_concurrency}, {max_retries}, {timeout}"
        )
    if extra_body is not None and not isinstance(extra_body, dict):
        raise ConfigError("extra_body: expected a mapping of extra JSON fields")
    return max_concurrency, max_retries, timeout, backoff_base_s, backoff_max_s


async def probe(
    session: aiohttp.ClientSession, ep: Endpoint, timeout: float, connect_timeout: float
) -> tuple[str, list[str] | None]:
    """('ok', model ids or None if the listing is unusable) or ('down', why)."""
    try:
        async with session.get(
            ep.models_url,
            timeout=aiohttp.ClientTimeout(total=min(timeout, 10.0), sock_connect=connect_timeout),
        ) as resp:
            raw = await resp.read()
            status = resp.status
    except aiohttp.ClientConnectorError as exc:
        return "down", connect_problem(exc)
    except (asyncio.TimeoutError, TimeoutError):
        return "down", f"no answer within {min(timeout, 10.0):g}s"
    except aiohttp.ClientError as exc:
        return "down", f"{type(exc).__name__}"
    if status in (401, 403):
        raise BackendError(
            f"{ep.url}/models answered HTTP {status}: the server rejected the API key; "
            "set MOUD_API_KEY (or OPENAI_API_KEY) to the server's key",
            "client_error",
        )
    return "ok", model_ids(raw) if status == 200 else None


async def check_endpoints(
    session: aiohttp.ClientSession,
    endpoints: list[Endpoint],
    model: str,
    timeout: float,
    connect_timeout: float,
) -> None:
    """GET /models on every endpoint. Unreachable endpoints are marked down (warned); endpoints that
    do not list the model are disabled (warned). Raises BackendError when no endpoint is usable."""
    results = await asyncio.gather(*(probe(session, ep, timeout, connect_timeout) for ep in endpoints))
    now = time.monotonic()
    down = [(ep, why) for ep, (state, why) in zip(endpoints, results, strict=True) if state == "down"]
    for ep, _why in down:
        ep.on_connect_error(now)
    if len(down) == len(endpoints):
        where = ", ".join(ep.url for ep, _ in down)
        why = down[0][1]
        port = urlsplit(endpoints[0].base_url).port or 8000
        raise BackendError(
            f"cannot reach an OpenAI-compatible server at {where} ({why}); start one with "
            f"`vllm serve {model} --port {port}` or pass --base-url",
            "connection_error",
        )
    for ep, why in down:
        log.warning("endpoint %s is unreachable (%s); continuing with the others", ep.url, why)
    listed = [
        (ep, ids)
        for ep, (state, ids) in zip(endpoints, results, strict=True)
        if state == "ok" and ids is not None
    ]
    unknown = any(state == "ok" and ids is None for state, ids in results)
    missing = [(ep, ids) for ep, ids in listed if model not in ids]
    if missing and len(missing) == len(listed) and not unknown:
        ep, ids = missing[0]
        raise BackendError(
            f"model {model!r} is not served at {ep.url}; it serves: "
            f"{', '.join(ids) or '(nothing)'}; pass one of those as the model",
            "client_error",
        )
    for ep, ids in missing:
        ep.disabled = True
        log.warning(
            "endpoint %s does not serve %r (it serves: %s); not using it",
            ep.url,
            model,
            ", ".join(ids),
        )
