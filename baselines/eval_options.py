"""The options of ``moud evaluate`` (and of a ``--matrix`` file): defaults, then each layer (a matrix file,
the command line) merged field by field and checked."""

from __future__ import annotations

from baselines.settings import check_rules, merge_layers

DEFAULTS: dict = {
    "num_candidates": 20,
    "seed": 0,
    "max_history": 2,
    "rank_by": "mc",
    "max_turns": None,
    "max_generate": None,
    "max_new_tokens": 40,
    "batch_size": 16,
    "no_generate": False,
    "no_bertscore": False,
    "bertscore_model": None,
    "bertscore_layer": None,
    "device": None,
    "threads": None,
    "quiet": False,
}
_TYPES = {
    **DEFAULTS,
    "max_turns": 0,
    "max_generate": 0,
    "bertscore_model": "",
    "bertscore_layer": 0,
    "device": "",
    "threads": 0,
}
_RULES = {
    "num_candidates": ("int", 1),
    "seed": ("int", 0),
    "max_history": ("int", -1),
    "rank_by": ("choice", ("mc", "lm")),
    "max_turns": ("optional_int", 1),
    "max_generate": ("optional_int", 1),
    "max_new_tokens": ("int", 1),
    "batch_size": ("int", 1),
    "bertscore_layer": ("optional_int", 0),
    "threads": ("optional_int", 1),
}


def evaluation_options(*layers: tuple[dict, str]) -> dict:
    """The evaluation options: defaults, then each ``(settings, where)`` layer, checked."""
    opts, origins = merge_layers(DEFAULTS, list(layers), _TYPES)
    check_rules(opts, _RULES, origins)
    return opts


def public_options(opts: dict) -> dict:
    """The options recorded with the results (not the display ones)."""
    return {k: v for k, v in opts.items() if k not in ("quiet", "threads")}


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)``; None leaves torch's setting as it is."""
    if threads:
        import torch

        torch.set_num_threads(threads)
