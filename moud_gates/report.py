"""filter_stats.json summaries: a printed table and a PNG bar chart of drops per gate and language."""

from __future__ import annotations

from pathlib import Path

from moud_gates.stats import ROW_KEYS


def format_table(stats: dict, gates: list[str]) -> str:
    """One line per language: input, kept, kept share, drops per gate (``gates`` order, then others by
    name; gates that dropped nothing are left out), then the gates' counters (``Gate.counts``)."""
    langs = stats["languages"]
    gates = [g for g in gates if any(st["dropped"].get(g) for st in langs.values())] + sorted(
        {g for st in langs.values() for g in st["dropped"]} - set(gates)
    )
    counters = list(dict.fromkeys(k for st in langs.values() for k in st if k not in ROW_KEYS))
    head = ["lang", "input", "kept", "kept%", *gates, *counters]
    rows = []
    for code, st in langs.items():
        pct = f"{st['kept'] / st['input']:.1%}" if st["input"] else "-"
        rows.append(
            [
                code,
                st["input"],
                st["kept"],
                pct,
                *[st["dropped"].get(g, 0) for g in gates],
                *[st.get(name, 0) for name in counters],
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    lines = ["  ".join(str(x).rjust(w) for x, w in zip(r, widths, strict=False)) for r in [head, *rows]]
    return "\n".join(lines)


def plot_stats(stats: dict, path: Path) -> None:
    """Stacked bars: share of each language's input dialogues dropped by each gate, kept counts under the
    language names; says "nothing dropped" when no gate dropped anything."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from moud_core.atomic import atomic_open

    langs = stats["languages"]
    codes = list(langs)
    gates = sorted({g for st in langs.values() for g, n in st["dropped"].items() if n})
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(codes) + 3), 4))
    bottom = [0.0] * len(codes)
    for gate in gates:
        vals = [100 * st["dropped"].get(gate, 0) / max(st["input"], 1) for st in langs.values()]
        ax.bar(codes, vals, bottom=bottom, label=gate)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(
        range(len(codes)),
        [f"{c}\nkept {st['kept']:,}/{st['input']:,}" for c, st in langs.items()],
        fontsize=8,
    )
    ax.set_xlim(-0.5, max(len(codes), 1) - 0.5)
    ax.set_ylabel("dropped (% of input dialogues)")
    ax.set_title("MOUD filter: drops per gate and language")
    if gates:
        ax.set_ylim(0, max(5.0, 1.15 * max(bottom)))
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.set_ylim(0, 100)
        ax.text(
            0.5,
            0.5,
            "nothing dropped: every input dialogue was kept",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=11,
        )
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
