"""What ``moud train`` reports about a run: per-task losses (LM and next-utterance classification), the
warning when the classification loss ends at chance (ln k for k candidates: the head learned nothing), and
the loss chart."""

from __future__ import annotations

import math
from pathlib import Path

# the classification loss "stays at chance" when its last logged value is at least this share of ln k
CHANCE_SHARE = 0.95


def task_losses(history: list[dict], candidates: int) -> dict:
    """The last logged LM and classification losses, the chance level ln k and a warning when the
    classification loss ended at chance."""
    last = next((h for h in reversed(history) if "mc_loss" in h), None)
    chance = math.log(candidates) if candidates > 1 else 0.0
    out = {"mc_loss_chance": chance, "final_lm_loss": None, "final_mc_loss": None, "warnings": []}
    if last is None:
        return out
    out["final_lm_loss"], out["final_mc_loss"] = last["lm_loss"], last["mc_loss"]
    if chance and last["mc_loss"] >= CHANCE_SHARE * chance:
        out["warnings"].append(
            f"the classification loss ended at {last['mc_loss']:.3f}, chance level (ln {candidates} = "
            f"{chance:.3f}): the next-utterance head learned nothing (train longer or on more data)"
        )
    return out


def count_languages(instances) -> dict:
    counts: dict[str, int] = {}
    for i in instances:
        counts[i.language] = counts.get(i.language, 0) + 1
    return dict(sorted(counts.items()))


def plot_losses(history: list[dict], path: Path, chance: float) -> None:
    """The combined loss and each task's loss per logged step, with the classification chance level."""
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from moud_core.atomic import atomic_open

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["loss"] for h in history], marker=".", label="loss (lm_coef*LM + mc_coef*MC)")
    for key, label in (("lm_loss", "LM loss"), ("mc_loss", "classification loss")):
        if all(key in h for h in history):
            ax.plot(steps, [h[key] for h in history], marker=".", label=label)
    if chance:
        ax.axhline(
            chance, color="gray", linestyle="--", linewidth=1, label=f"classification chance ({chance:.3f})"
        )
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
