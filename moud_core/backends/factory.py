"""Build a backend by name. Heavy imports (torch, vllm) happen only for the backend asked for."""

from __future__ import annotations

import importlib
import inspect

from moud_core.backends.base import Backend
from moud_core.errors import ConfigError

# name -> (module, class); one module per backend
BACKEND_CLASSES = {
    "openai": ("moud_core.backends.openai_http", "OpenAIBackend"),
    "transformers": ("moud_core.backends.hf", "TransformersBackend"),
    "vllm": ("moud_core.backends.vllm_backend", "VLLMBackend"),
}
BACKENDS = tuple(BACKEND_CLASSES)


def backend_class(name: str) -> type[Backend]:
    if name not in BACKEND_CLASSES:
        raise ConfigError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    module, cls = BACKEND_CLASSES[name]
    return getattr(importlib.import_module(module), cls)


def accepted_options(name: str) -> tuple[str, ...]:
    """The constructor options of backend ``name`` (everything but the model)."""
    params = inspect.signature(backend_class(name).__init__).parameters.values()
    return tuple(
        p.name
        for p in params
        if p.name not in ("self", "model")
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        and not p.name.startswith("_")
    )


def make_backend(name: str, model: str, **options) -> Backend:
    """name: openai | transformers | vllm. ``options`` go to the backend's constructor:

    - openai: base_url (str or list of str), api_key, max_concurrency, timeout, max_retries, system_role,
      extra_body, ...
    - transformers: device, dtype, max_batch_size, system_role
    - vllm: tensor_parallel_size, gpu_memory_utilization, max_model_len, system_role
    """
    cls = backend_class(name)
    unknown = sorted(set(options) - set(accepted_options(name)))
    if unknown:
        raise ConfigError(
            f"backend_options: unknown option(s) {', '.join(unknown)} for the {name} backend; "
            f"expected some of {', '.join(accepted_options(name))}"
        )
    return cls(model, **options)
