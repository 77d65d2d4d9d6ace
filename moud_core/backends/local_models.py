"""Where a local model for the transformers backend lives: a folder, a ``.gguf`` file, or a short name
from ``moud_core/data/models.yaml`` (a GGUF file shipped inside a pip package, e.g. ``smollm2``).

    source = resolve_local_model("smollm2")
    source.folder, source.gguf_file      # for from_pretrained(folder, gguf_file=...)

Problems (a missing package or file, a file that is not GGUF, the ``gguf`` package absent) are one-line
ConfigErrors, raised before anything is loaded or written.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

MODELS_FILE = Path(__file__).resolve().parents[1] / "data" / "models.yaml"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class LocalModel:
    folder: str  # what from_pretrained gets (a folder, or a Hub id in the local cache)
    gguf_file: str | None = None  # file name inside ``folder`` for GGUF models


@functools.lru_cache(maxsize=1)
def short_names() -> dict[str, dict]:
    return dict(load_yaml(MODELS_FILE) or {})


def resolve_local_model(model: str) -> LocalModel:
    """The folder (and GGUF file) for ``model``; see module docstring. Names that are neither a path
    nor a short name are returned as they are (a Hub id already in the local cache)."""
    entry = short_names().get(model)
    if entry is not None and not Path(model).exists():
        spec = importlib.util.find_spec(entry["package"])
        if spec is None or not spec.origin:
            raise ConfigError(
                f"--model {model}: needs the {entry['package']} package; install it with: {entry['install']}"
            )
        return _gguf(Path(spec.origin).parent / entry["file"], f"--model {model}", entry["install"])
    path = Path(model)
    if path.suffix.lower() == ".gguf":
        return _gguf(path, f"--model {model}", "pip install gguf")
    if not path.exists() and model.startswith((".", "/", "~")):
        raise ConfigError(f"--model {model}: no such file or folder")
    return LocalModel(model)


def _gguf(path: Path, where: str, install: str) -> LocalModel:
    if not path.is_file():
        raise ConfigError(f"{where}: GGUF file not found: {path}")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path} ({exc.strerror})") from None
    if magic != GGUF_MAGIC:
        raise ConfigError(
            f"{where}: {path} is not a GGUF file (it starts with {magic!r}, expected {GGUF_MAGIC!r})"
        )
    if importlib.util.find_spec("gguf") is None:
        raise ConfigError(f"{where}: reading GGUF files needs the gguf package: {install}")
    return LocalModel(str(path.parent), path.name)
