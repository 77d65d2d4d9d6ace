"""The dataset-statistics section of a report (``moud stats``, ``moud report --shards``): stats.json, tables
and plots of dialogues, turns, lengths, distinct-n, language-ID confidence, taxonomy coverage and persona
collapse."""

from __future__ import annotations

from pathlib import Path

from eval import plots
from eval.persona_collapse import collapse_section
from eval.report_writer import json_text, md_table
from moud_core.atomic import atomic_write_text


def stats_section(stats: dict, out: Path) -> str:
    """Write stats.json and the statistics plots; return the markdown section."""
    langs = stats["languages"]
    atomic_write_text(out / "stats.json", json_text(stats))
    rows = [
        [
            lang,
            s["dialogues"],
            s["turns"],
            s["turns_per_dialogue"],
            s["chars_per_turn"],
            s["tokens_per_turn"],
            s["distinct_1"],
            s["distinct_2"],
            s["segmentation"],
        ]
        for lang, s in langs.items()
    ]
    parts = [
        "## Dataset statistics",
        "",
        "Tokens are script-aware (`moud_core.text.tokenize`): characters for zh/ja/th, words elsewhere; "
        "distinct-n = unique n-grams / all n-grams over the language's turns.",
        "",
        md_table(
            [
                "language",
                "dialogues",
                "turns",
                "turns/dialogue",
                "chars/turn",
                "tokens/turn",
                "distinct-1",
                "distinct-2",
                "tokens",
            ],
            rows,
        ),
        "",
    ]
    tax = stats["taxonomy"]
    cov = [
        [
            lang,
            len(s["speech_events"]),
            s["speech_event_coverage"],
            len(s["persona_categories"]),
            s["persona_category_coverage"],
            s["persona_subcategory_coverage"],
        ]
        for lang, s in langs.items()
    ]
    parts += [
        "### Taxonomy coverage",
        "",
        md_table(
            [
                "language",
                f"speech events (of {tax['speech_events']})",
                "event coverage",
                f"persona categories (of {tax['persona_categories']})",
                "category coverage",
                "subcategory coverage",
            ],
            cov,
        ),
        "",
    ]
    lid_rows = [
        [
            lang,
            s["lid"]["turns_scored"],
            s["lid"]["mean"],
            s["lid"]["p05"],
            s["lid"]["p25"],
            s["lid"]["median"],
            s["lid"]["share_below_0.5"],
        ]
        for lang, s in langs.items()
    ]
    parts += ["### Language-ID confidence (per turn, from `metadata.lid_scores`)", ""]
    if any(r[1] for r in lid_rows):
        parts += [
            md_table(["language", "turns scored", "mean", "p05", "p25", "median", "share < 0.5"], lid_rows),
            "",
            "![LID confidence](lid_confidence.png)",
            "",
        ]
        plots.lid_distributions(
            {lang: s["lid"]["histogram"] for lang, s in langs.items()}, out / "lid_confidence.png"
        )
    else:
        parts += ["No LID scores in these shards (run `moud filter` to fill `metadata.lid_scores`).", ""]
    plots.turn_length_distributions(
        {lang: s["turn_tokens_histogram"] for lang, s in langs.items()},
        {lang: s["segmentation"] for lang, s in langs.items()},
        out / "turn_lengths.png",
    )
    plots.bars(
        {lang: {"distinct-1": s["distinct_1"], "distinct-2": s["distinct_2"]} for lang, s in langs.items()},
        "Lexical diversity",
        "distinct-n",
        out / "distinct_n.png",
    )
    plots.bars(
        {
            lang: {
                "speech events": s["speech_event_coverage"],
                "persona categories": s["persona_category_coverage"],
            }
            for lang, s in langs.items()
        },
        "Taxonomy coverage",
        "share covered",
        out / "coverage.png",
    )
    parts += [
        "![Turn lengths](turn_lengths.png)",
        "",
        "![distinct-n](distinct_n.png)",
        "",
        "![Coverage](coverage.png)",
        "",
        collapse_section(stats, out),
    ]
    return "\n".join(parts)
