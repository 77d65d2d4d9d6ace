"""The loopback servers an experiment starts and stops itself when its recipe says ``base_url: scripted``:
the scripted crowdworker for ``generate`` and the scripted judge for ``judge`` (one server each, so each
serves the model name its stage asks for). They bind 127.0.0.1, run in their own process (so ``moud generate``
can fork its gate worker, which it never does while another thread runs) and die with the experiment."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
from collections.abc import Iterator

from moud_core.errors import MoudError
from moud_core.workers import die_with_parent
from moud_experiment.recipe import SCRIPTED, Recipe

MAX_SECONDS = 24 * 3600


def _serve(parent: int, ports, stop, model: str, inject: str | None, seed: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: the experiment decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)
    from generation.testing.crowdworker import ScriptedCrowdworker
    from generation.testing.fake_openai import FakeOpenAIServer

    responder = ScriptedCrowdworker()
    if inject:
        from generation.testing.slips import SlipInjector, parse_rates

        responder = SlipInjector(responder, parse_rates(inject), seed=seed)
    server = FakeOpenAIServer(responder=responder, model=model, max_seconds=MAX_SECONDS, log_requests=False)
    server.start()
    ports.put(server.port)
    stop.wait(MAX_SECONDS)
    server.stop()


@contextlib.contextmanager
def _server(model: str, inject: str | None, seed: int) -> Iterator[str]:
    ctx = mp.get_context("fork")
    ports, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(os.getpid(), ports, stop, model, inject, seed), daemon=True)
    proc.start()
    try:
        try:
            port = ports.get(timeout=60)
        except Exception:
            raise MoudError(f"the scripted server for model {model!r} did not start within 60 s") from None
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()


@contextlib.contextmanager
def scripted_servers(recipe: Recipe) -> Iterator[dict[str, str]]:
    """{"generate": base URL, "judge": base URL} of the servers the recipe needs (empty when none)."""
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        g = recipe.generate
        if g.base_url == SCRIPTED and g.backend == "openai":
            urls["generate"] = stack.enter_context(_server(g.model, g.inject, recipe.seed))
        j = recipe.judge
        if j is not None and j.base_url == SCRIPTED and j.backend == "openai":
            urls["judge"] = stack.enter_context(_server(j.model, None, recipe.seed))
        yield urls
