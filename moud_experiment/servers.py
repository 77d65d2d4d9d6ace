"""The loopback servers an experiment starts and stops itself when its recipe says ``base_url: scripted``:
the scripted crowdworker for ``generate`` and the scripted judge for ``judge`` (one server each, so each
serves the model name its stage asks for). They bind 127.0.0.1 and stop with the experiment."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from moud_experiment.recipe import SCRIPTED, Recipe


def _server(model: str, inject: str | None, seed: int):
    from generation.testing.crowdworker import ScriptedCrowdworker
    from generation.testing.fake_openai import FakeOpenAIServer

    responder = ScriptedCrowdworker()
    if inject:
        from generation.testing.slips import SlipInjector, parse_rates

        responder = SlipInjector(responder, parse_rates(inject), seed=seed)
    return FakeOpenAIServer(responder=responder, model=model, max_seconds=24 * 3600, log_requests=False)


@contextlib.contextmanager
def scripted_servers(recipe: Recipe) -> Iterator[dict[str, str]]:
    """{"generate": base URL, "judge": base URL} of the servers the recipe needs (empty when none)."""
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        g = recipe.generate
        if g.base_url == SCRIPTED and g.backend == "openai":
            urls["generate"] = stack.enter_context(_server(g.model, g.inject, recipe.seed)).base_url
        j = recipe.judge
        if j is not None and j.base_url == SCRIPTED and j.backend == "openai":
            urls["judge"] = stack.enter_context(_server(j.model, None, recipe.seed)).base_url
        yield urls
