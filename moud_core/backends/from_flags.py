"""One way from command-line flags and config settings to a backend, for every command that calls an LLM
(``moud generate``, ``moud judge``).

``add_backend_arguments`` declares the flags; ``options_from_flags`` turns the flags that were given into
``backend_options`` fields (laid over a config's own, field by field); ``resolve_backend_options`` checks the
merged options (no secrets in files, no unknown keys, the API-key variable set) and adds the key from the
environment. Keys never come from a file and are never written anywhere.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from moud_core.backends.factory import BACKENDS, accepted_options
from moud_core.backends.local_models import resolve_local_model
from moud_core.errors import ConfigError

OPENAI_ONLY = ("base_url", "max_concurrency", "timeout", "max_retries", "extra_body")
SECRET_KEYS = ("api_key", "token")
_FLAG_OPTIONS = (
    ("max_concurrency", "max_concurrency"),
    ("timeout", "timeout"),
    ("max_retries", "max_retries"),
    ("device", "device"),
    ("dtype", "dtype"),
    ("max_batch_size", "max_batch_size"),
)


def add_backend_arguments(parser: argparse.ArgumentParser, default_backend: str | None = "openai") -> None:
    """The backend flags shared by every command that calls an LLM."""
    shown = f" (default {default_backend})" if default_backend else " (default: from the config, else openai)"
    parser.add_argument("--backend", choices=BACKENDS, default=default_backend, help="LLM backend" + shown)
    parser.add_argument(
        "--base-url",
        action="append",
        help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (repeat or comma-separate "
        "for several servers)",
    )
    parser.add_argument(
        "--api-key-env",
        default=None,
        help="name of the environment variable holding the API key (default: MOUD_API_KEY, then "
        "OPENAI_API_KEY); keys are never printed or written to disk",
    )
    parser.add_argument(
        "--max-concurrency", type=int, help="openai: requests in flight per server (default 64)"
    )
    parser.add_argument("--timeout", type=float, help="openai: seconds per request attempt (default 120)")
    parser.add_argument("--max-retries", type=int, help="openai: retries per request (default 6)")
    parser.add_argument(
        "--no-system-role",
        action="store_true",
        help="fold system prompts into the first user turn (models like Gemma)",
    )
    parser.add_argument("--device", help="transformers: cpu, cuda, cuda:1, auto (default auto)")
    parser.add_argument("--dtype", help="transformers: auto, float32, bfloat16, float16 (default auto)")
    parser.add_argument("--max-batch-size", type=int, help="transformers/vllm: requests per batch")


def options_from_flags(args: argparse.Namespace) -> dict:
    """The ``backend_options`` fields set by the flags that were given (none for flags left out)."""
    opts: dict = {}
    if getattr(args, "base_url", None):
        urls = [u.strip() for part in args.base_url for u in part.split(",") if u.strip()]
        if not urls:
            raise ConfigError("--base-url: expected http(s)://HOST:PORT/v1")
        opts["base_url"] = urls if len(urls) > 1 else urls[0]
    for key, attr in _FLAG_OPTIONS:
        value = getattr(args, attr, None)
        if value is not None:
            opts[key] = value
    if getattr(args, "no_system_role", False):
        opts["system_role"] = False
    return opts


def resolve_backend_options(
    backend: str, model: str, options: dict, api_key_env: str | None = None, origin=None
) -> dict:
    """Constructor options for ``backend``: refuses secrets and unknown keys, reads the API key from
    ``api_key_env`` (which must then be set), drops server options for in-process backends. ``origin(key)``
    names where an option came from (a config file, "command line") for the error message."""
    opts = dict(options)

    def where(key: str) -> str:
        return f"{origin(key) if origin else 'backend_options'}: backend_options.{key}"

    for secret in SECRET_KEYS:
        if secret in opts:
            raise ConfigError(
                f"{where(secret)}: do not put secrets in config files; set MOUD_API_KEY "
                "(or --api-key-env NAME)"
            )
    if backend != "openai":
        for key in OPENAI_ONLY:
            opts.pop(key, None)
    accepted = set(accepted_options(backend)) - set(SECRET_KEYS)
    unknown = sorted(set(opts) - accepted)
    if unknown:
        raise ConfigError(
            f"{where(unknown[0])}: unknown option(s) {', '.join(unknown)} for the {backend} "
            f"backend; expected some of {', '.join(sorted(accepted))}"
        )
    if api_key_env:
        if backend != "openai":
            raise ConfigError(f"--api-key-env {api_key_env}: only the openai backend takes an API key")
        if not os.environ.get(api_key_env):
            raise ConfigError(f"--api-key-env {api_key_env}: environment variable is not set")
        opts["api_key"] = os.environ[api_key_env]
    if backend == "transformers":
        source = resolve_local_model(model)  # a .gguf file or a short name is checked here
        if source.gguf_file is None and not Path(model).exists() and "/" not in model:
            raise ConfigError(
                f"model {model!r}: no such directory (the transformers backend needs a local model "
                "folder, a .gguf file, a short name from moud_core/data/models.yaml such as smollm2, "
                "or a Hub id already in the local cache)"
            )
    return opts
