"""The dataset card's filter table lists every filtered language, a language whose rows were all dropped
too."""

from __future__ import annotations

import json

import moud_cli
from moud_core.persona_groups import normalize_sentence
from tests.moud_dataset.helpers import make_shards


def test_filter_table_keeps_a_language_with_nothing_kept(tmp_path):
    run = tmp_path / "run"
    rows = make_shards(run, ("fr", "zh"), rows=12, shards=1)
    stats = {
        "languages": {
            "fr": {"input": 15, "kept": len(rows["fr"]), "dropped": {"lid": 3}},
            "zh": {"input": 12, "kept": len(rows["zh"]), "dropped": {}},
            "sw": {"input": 9, "kept": 0, "dropped": {"lid": 9}},
        }
    }
    (run / "filter_stats.json").write_text(json.dumps(stats), encoding="utf-8")
    assert (
        moud_cli.main(
            ["build", "--shards", str(run), "--out", str(tmp_path / "moud"), "--workers", "1", "--quiet"]
        )
        == 0
    )
    card = (tmp_path / "moud" / "README.md").read_text(encoding="utf-8")
    table = card.split("## Filtering", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| `")]
    assert lines == [
        "| `fr` | 15 | 12 | 80.0% | 3 |",
        "| `sw` | 9 | 0 | 0.0% | 9 |",
        "| `zh` | 12 | 12 | 100.0% | 0 |",
    ]
    assert "config_name: sw" not in card  # no config for it: nothing was kept


def test_card_reports_persona_collapse(tmp_path):
    run = tmp_path / "run"
    rows = make_shards(run, ("fr", "zh"), rows=12, shards=1)  # every 3 rows share their personas
    assert (
        moud_cli.main(
            ["build", "--shards", str(run), "--out", str(tmp_path / "moud"), "--workers", "1", "--quiet"]
        )
        == 0
    )
    card = (tmp_path / "moud" / "README.md").read_text(encoding="utf-8")
    table = card.split("## Persona collapse", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| `")]

    def top(lang):  # ties (3 personas each) go to the first normalized sentence
        return min(rows[lang][0]["persona_a"] + rows[lang][0]["persona_b"], key=normalize_sentence)

    # 12 rows x 3 sentences, 4 persona pairs: 12 distinct sentences of 36; the top one is in 3 of 24 personas;
    # no names or places stated; every persona is repeated in two other rows
    assert lines == [
        f"| `fr` | 24 | 33.3% | {top('fr')} (12.5%) | none | none | 100.0% |",
        f"| `zh` | 24 | 33.3% | {top('zh')} (12.5%) | none | none | 100.0% |",
    ]
