"""filter_stats.json summaries: a printed table and a PNG bar chart of drops per gate and language."""

from __future__ import annotations

from pathlib import Path


def format_table(stats: dict, gates: list[str]) -> str:
    langs = stats["languages"]
    gates = [g for g in gates if any(st["dropped"].get(g) for st in langs.values())] + sorted(
        {g for st in langs.values() for g in st["dropped"]} - set(gates)
    )
    head = ["lang", "input", "kept", "kept%", *gates, "short", "undetermined"]
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
                st["skipped_short"],
                st.get("undetermined", 0),
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    lines = ["  ".join(str(x).rjust(w) for x, w in zip(r, widths, strict=False)) for r in [head, *rows]]
    return "\n".join(lines)


def plot_stats(stats: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = list(stats["languages"])
    gates = sorted({g for st in stats["languages"].values() for g in st["dropped"]})
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(langs) + 3), 4))
    bottom = [0.0] * len(langs)
    for gate in gates:
        vals = [100 * st["dropped"].get(gate, 0) / max(st["input"], 1) for st in stats["languages"].values()]
        ax.bar(langs, vals, bottom=bottom, label=gate)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel("dropped (% of input dialogues)")
    ax.set_title("MOUD filter: drops per gate and language")
    if gates:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
