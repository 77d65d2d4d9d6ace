"""Statistics on multilingual fixtures (Chinese distinct-n on characters, never whitespace words)."""

import json
import subprocess
import sys

import pytest

import moud_cli
from eval.stats import compute_stats
from moud_core.taxonomy import load_speech_events
from tests import ROOT
from tests.eval.helpers import make_row, write_shards


def test_chinese_distinct_n_on_characters():
    s = compute_stats([make_row("zh", 0, turns=[("A", "我喜欢吃火锅"), ("B", "我喜欢喝茶")])])["languages"][
        "zh"
    ]
    # 11 characters, 8 distinct (我喜欢吃火锅喝茶); bigrams 5 + 4 = 9, 7 distinct.
    # On whitespace words each turn would be one token: distinct-1 = 1.0 and no bigrams at all.
    assert s["tokens_per_turn"] == pytest.approx(5.5)
    assert s["distinct_1"] == pytest.approx(8 / 11) and s["distinct_2"] == pytest.approx(7 / 9)
    assert s["chars_per_turn"] == pytest.approx(5.5) and s["segmentation"] == "chars"


def test_words_languages_and_counts():
    rows = [
        make_row("fr", 0, turns=[("A", "Le chat dort."), ("B", "Le chien dort aussi !")], lid=[0.95, 0.30]),
        make_row(
            "fr",
            1,
            turns=[("A", "Bonjour")],
            lid=[0.99],
            event="gossip",
            cats=("food/drinks", "hobbies/music"),
        ),
    ]
    stats = compute_stats(rows)
    s = stats["languages"]["fr"]
    assert (s["dialogues"], s["turns"], s["min_turns"], s["max_turns"]) == (2, 3, 1, 2)
    # tokens: le chat dort | le chien dort aussi | bonjour -> 8 tokens, 6 distinct; bigrams 2+3 = 5 distinct
    assert s["tokens_per_turn"] == pytest.approx(8 / 3)
    assert s["distinct_1"] == pytest.approx(6 / 8) and s["distinct_2"] == pytest.approx(1.0)
    assert s["lid"]["turns_scored"] == 3 and s["lid"]["mean"] == pytest.approx((0.95 + 0.30 + 0.99) / 3)
    assert s["lid"]["share_below_0.5"] == pytest.approx(1 / 3) and s["lid"]["median"] == pytest.approx(0.96)
    assert s["speech_events"] == {"gossip": 1, "small_talk": 1}
    assert s["speech_event_coverage"] == pytest.approx(2 / len(load_speech_events()))
    assert s["persona_categories"] == {"food": 2, "hobbies": 1, "pets": 2}
    by_model = compute_stats([*rows, make_row("fr", 2, model="model-b")], by_model=True)["languages"]
    assert sorted(by_model) == ["fr · model-a", "fr · model-b"] and by_model["fr · model-a"]["dialogues"] == 2


def test_stats_cli_subprocess(tmp_path):
    shards = write_shards(tmp_path / "run", [make_row("fr", 0, lid=[0.9, 0.8]), make_row("ja", 0)])
    out = tmp_path / "stats"
    proc = subprocess.run(
        [sys.executable, "-m", "moud_cli", "stats", "--shards", str(shards), "--out", str(out), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert set(stats["languages"]) == {"fr", "ja"}
    assert stats["languages"]["ja"]["lid"]["turns_scored"] == 0
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| ja |" in text and (out / "lid_confidence.png").exists() and (out / "coverage.png").exists()


def test_stats_missing_folder_is_one_line_error(tmp_path, capsys):
    assert moud_cli.main(["stats", "--shards", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "nope: no such folder" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
