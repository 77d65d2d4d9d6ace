"""The options of ``moud evaluate`` (and of a ``--matrix`` file): a typed frozen dataclass of defaults, then
each layer (a matrix file, the command line) merged field by field and checked (``baselines.settings``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from baselines.settings import resolve
from moud_core.typed_config import at_least, to_dict


@dataclass(frozen=True)
class EvalSettings:
    """``moud evaluate``'s options (``quiet`` and ``threads`` are display / machine only and not recorded)."""

    num_candidates: int = field(default=20, metadata=at_least(1))
    seed: int = field(default=0, metadata=at_least(0))
    max_history: int = field(default=2, metadata=at_least(-1))
    rank_by: Literal["mc", "lm"] = "mc"
    max_turns: int | None = field(default=None, metadata=at_least(1))
    max_generate: int | None = field(default=None, metadata=at_least(1))
    max_new_tokens: int = field(default=40, metadata=at_least(1))
    batch_size: int = field(default=16, metadata=at_least(1))
    no_generate: bool = False
    no_bertscore: bool = False
    bertscore_model: str | None = None
    bertscore_layer: int | None = field(default=None, metadata=at_least(0))
    device: str | None = None
    threads: int | None = field(default=None, metadata=at_least(1))
    quiet: bool = False


DEFAULTS: dict = to_dict(EvalSettings())


def evaluation_options(*layers: tuple[dict, str]) -> dict:
    """The evaluation options: defaults, then each ``(settings, where)`` layer, checked."""
    return to_dict(resolve(EvalSettings, list(layers)))


def public_options(opts: dict) -> dict:
    """The options recorded with the results (not the display ones)."""
    return {k: v for k, v in opts.items() if k not in ("quiet", "threads")}


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)``; None leaves torch's setting as it is."""
    if threads:
        import torch

        torch.set_num_threads(threads)
