"""Where models and tokenizers come from: a local folder, or a Hub id already in the local Hugging Face
cache. Nothing is downloaded at run time, so a missing model fails at once with one line instead of
retrying the Hub."""

from __future__ import annotations

from pathlib import Path

from moud_core.errors import MoudError


def library_progress_bars(enabled: bool) -> None:
    """Turn the progress bars transformers and datasets draw themselves (loading weights, writing shards,
    preparing Parquet splits) on or off, with the command's own bars (off with --quiet or when not a TTY)."""
    import datasets
    from transformers.utils import logging as hf_logging

    (hf_logging.enable_progress_bar if enabled else hf_logging.disable_progress_bar)()
    (datasets.enable_progress_bars if enabled else datasets.disable_progress_bars)()


def _looks_local(name: str) -> bool:
    """Whether ``name`` is meant as a path rather than a Hub id (``org/name``)."""
    if name.startswith((".", "/", "~")) or name.endswith("/") or name.count("/") > 1 or "\\" in name:
        return True
    return "/" in name and Path(name.split("/", 1)[0]).is_dir()


def check_model_source(name: str, what: str = "model", extra: str = "") -> None:
    """A local model folder, or a Hub id already in the local Hugging Face cache; else a one-line
    MoudError (``extra``: more advice that fits the command)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return
    if path.exists():
        raise MoudError(f"{what} path {name!r} is a file (expected a model folder)")
    if _looks_local(name):
        raise MoudError(f"{what} path {name!r} does not exist (expected a model folder)")
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except Exception:  # an id the Hub would refuse (HFValidationError)
        cached = None
    if not isinstance(cached, str):
        fetch = f"fetch it first with `hf download {name}`, " if "/" in name else ""
        raise MoudError(
            f"{what} {name!r}: no such folder, and not in the local Hugging Face cache (nothing is "
            f"downloaded at run time: {fetch}give a local folder or a Hub id owner/name already in the cache"
            f"{extra})"
        )


def first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def load_causal_lm(name_or_path: str, dtype=None):
    from transformers import AutoModelForCausalLM

    check_model_source(name_or_path)
    try:
        return AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise MoudError(f"model {name_or_path!r}: cannot load ({first_line(exc)})") from None


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    check_model_source(name_or_path, "tokenizer")
    try:
        tok = AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise MoudError(f"tokenizer {name_or_path!r}: cannot load ({first_line(exc)})") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok
