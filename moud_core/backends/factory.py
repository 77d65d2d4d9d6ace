"""Build a backend by name. Heavy imports (torch, vllm) happen only for the backend asked for."""

from __future__ import annotations

from moud_core.backends.base import Backend
from moud_core.errors import ConfigError

BACKENDS = ("openai", "transformers", "vllm")


def make_backend(name: str, model: str, **options) -> Backend:
    """name: openai | transformers | vllm. ``options`` go to the backend's constructor:

    - openai: base_url (str or list of str), api_key, max_concurrency, timeout, max_retries, system_role
    - transformers: device, dtype, max_batch_size, system_role
    - vllm: tensor_parallel_size, gpu_memory_utilization, max_model_len, system_role
    """
    if name == "openai":
        from moud_core.backends.openai_http import OpenAIBackend

        return OpenAIBackend(model, **options)
    if name == "transformers":
        from moud_core.backends.hf import TransformersBackend

        return TransformersBackend(model, **options)
    if name == "vllm":
        from moud_core.backends.vllm_backend import VLLMBackend

        return VLLMBackend(model, **options)
    raise ConfigError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
