"""Persona collapse in ``moud stats``: the measures of ``moud_core.persona_collapse`` per language, the same
measures on the human XPersona personas (``--xpersona DIR``) side by side, the report section and its plot.

XPersona reuses each persona of PersonaChat's pool in several dialogues; it is measured with each distinct
persona (its sentence set) once, so its figures describe human-written personas, not that reuse.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval import plots
from eval.report_writer import fmt, md_table
from moud_core.errors import MoudError
from moud_core.persona_collapse import collapse_of
from moud_core.persona_groups import persona_set
from moud_core.xpersona import xpersona_file, xpersona_languages

PLOT = "persona_collapse.png"


def xpersona_personas(path: Path) -> list[list[str]]:
    """The distinct personas of an XPersona file, in file order."""
    try:
        dialogues = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MoudError(f"{path}: cannot read XPersona file ({exc})") from None
    if not isinstance(dialogues, list):
        raise MoudError(f"{path}: expected a list of XPersona dialogues")
    seen, out = set(), []
    for i, d in enumerate(dialogues):
        persona = d.get("persona") if isinstance(d, dict) else None
        if not isinstance(persona, list) or not all(isinstance(s, str) for s in persona):
            raise MoudError(f"{path}: dialogue {i}: persona: expected a list of strings")
        key = persona_set(persona)
        if key not in seen:
            seen.add(key)
            out.append(persona)
    return out


def xpersona_collapse(directory: str | Path, languages, split: str = "valid") -> dict:
    """{"folder", "split", "languages": {code: summary}} for the ``languages`` XPersona has in ``split``."""
    if not Path(directory).is_dir():
        raise MoudError(f"--xpersona {directory}: not a folder")
    present = set(xpersona_languages(directory, split))
    out = {}
    for code in sorted(set(languages) & present):
        personas = xpersona_personas(xpersona_file(directory, code, split))
        out[code] = collapse_of(([p] for p in personas), code)
    return {"folder": str(directory), "split": split, "languages": out}


def _top(entries: list[dict]) -> str:
    return f"{_cell(entries[0]['text'])} ({entries[0]['share']:.1%})" if entries else "–"


def _cell(text: str) -> str:
    """A persona text inside a markdown table cell."""
    return text.replace("|", "\\|")


def _row(label: str, source: str, c: dict) -> list:
    return [
        label,
        source,
        c["personas"],
        c["persona_sentences"],
        c["distinct_share"],
        _top(c["top_sentences"]),
        f"{_top(c['top_names'])} of {c['personas_with_name']}" if c["entity_patterns"] else "no patterns",
        f"{_top(c['top_places'])} of {c['personas_with_place']}" if c["entity_patterns"] else "no patterns",
        f"{c['personas_with_near_duplicate']} ({fmt(c['near_duplicate_share'], 3)})",
    ]


def _tops(c: dict) -> str:
    cols = [("top_sentences", "persona sentence"), ("top_names", "first name"), ("top_places", "place")]
    rows = []
    for i in range(max(len(c[k]) for k, _ in cols)):
        row: list = [i + 1]
        for key, _ in cols:
            e = c[key][i] if i < len(c[key]) else None
            row += [_cell(e["text"]), f"{e['count']} ({e['share']:.1%})"] if e else ["", ""]
        rows.append(row)
    header = ["#"] + [h for _, name in cols for h in (name, "count (share)")]
    return md_table(header, rows) if rows else "No personas."


def collapse_section(stats: dict, out: Path) -> str:
    """The markdown section (and ``persona_collapse.png``) for ``stats`` (``compute_stats`` output, with an
    optional ``xpersona`` entry)."""
    groups = stats["languages"]
    xp = (stats.get("xpersona") or {}).get("languages", {})
    rows = []
    for label, s in groups.items():
        rows.append(_row(label, "MOUD", s["persona_collapse"]))
        if s["language"] in xp:
            rows.append(_row(s["language"], "XPersona", xp[s["language"]]))
    threshold = next(iter(groups.values()))["persona_collapse"]["near_duplicate_threshold"]
    parts = [
        "### Persona collapse",
        "",
        "Whether a language's generator repeats itself across personas: distinct share = distinct persona "
        "sentences (normalized: case, punctuation, spacing) / all; the most frequent sentence's share of "
        "personas; the most frequent first name and place as a share of the personas that state one "
        "(phrases of `moud_core/data/persona_entities.yaml`); personas that have a near-duplicate (Jaccard "
        f"of sentence sets ≥ {threshold}, exact repeats included) in another dialogue.",
        "",
    ]
    if stats.get("xpersona"):
        parts += [
            f"XPersona rows: the human personas of `{stats['xpersona']['folder']}` "
            f"({stats['xpersona']['split']} split), each distinct persona once.",
            "",
        ]
    parts += [
        md_table(
            [
                "language",
                "source",
                "personas",
                "sentences",
                "distinct share",
                "top sentence (share of personas)",
                "top first name (of personas with one)",
                "top place (of personas with one)",
                "personas with a near-duplicate",
            ],
            rows,
        ),
        "",
        f"![Persona collapse]({PLOT})",
        "",
    ]
    none = sorted({s["language"] for s in groups.values() if not s["persona_collapse"]["entity_patterns"]})
    if none:
        parts += [f"No name or place phrases for {', '.join(none)}: sentences and near-duplicates only.", ""]
    for label, s in groups.items():
        parts += [f"<details><summary>{label}: most frequent</summary>", "", _tops(s["persona_collapse"]), ""]
        if s["language"] in xp:
            parts += [f"XPersona {s['language']}:", "", _tops(xp[s["language"]]), ""]
        parts += ["</details>", ""]
    measures = {
        "distinct persona sentences / all (higher: more varied)": "distinct_share",
        "share of personas with the top sentence (lower: more varied)": "top_share",
        "personas with a near-duplicate elsewhere (lower: more varied)": "near_duplicate_share",
    }
    panels = {title: {} for title in measures}
    for label, s in groups.items():
        sources = {"MOUD": s["persona_collapse"]}
        if s["language"] in xp:
            sources["XPersona (human)"] = xp[s["language"]]
        for title, key in measures.items():
            panels[title][label] = {src: _measure(c, key) for src, c in sources.items()}
    plots.panel_bars(panels, "Persona collapse per language", out / PLOT)
    return "\n".join(parts)


def _measure(c: dict, key: str) -> float:
    if key == "top_share":
        return c["top_sentences"][0]["share"] if c["top_sentences"] else float("nan")
    return c[key]
