"""Persona collapse: the measures (moud_core/persona_collapse.py), `moud stats` with XPersona beside them."""

import itertools
import json
import random

import pytest

from eval.persona_collapse import xpersona_collapse, xpersona_personas
from eval.report import run_stats
from eval.stats import compute_stats
from moud_core.languages import DEFAULT_LANGUAGES
from moud_core.persona_collapse import PersonaCollapse, collapse_of, entity_patterns, persona_entities
from moud_core.persona_groups import jaccard, near_duplicate_pairs
from moud_core.xpersona import xpersona_file
from tests.eval.helpers import make_row, write_shards

HOBBIES = ["J'aime la randonnée.", "Je joue du piano.", "J'ai deux chats.", "Je lis beaucoup.", "Je cuisine."]


def row(lang: str, index: int, a: list[str], b: list[str]) -> dict:
    r = make_row(lang, index)
    r["persona_a"], r["persona_b"] = a, b
    return r


def test_near_duplicate_pairs_match_brute_force():
    rng = random.Random(3)
    for _ in range(200):
        pool = [f"s{i}" for i in range(rng.randint(3, 12))]
        sets = list(
            dict.fromkeys(frozenset(rng.sample(pool, rng.randint(1, min(5, len(pool))))) for _ in range(25))
        )
        for t in (0.4, 0.6, 0.8):
            brute = [
                (i, j)
                for i, j in itertools.combinations(range(len(sets)), 2)
                if jaccard(sets[i], sets[j]) >= t
            ]
            assert near_duplicate_pairs(sets, t) == brute


def test_measures_on_a_collapsed_corpus():
    other = ["Je suis infirmière.", "J'ai un vélo.", "Je vis seule.", "J'aime le thé.", "Je danse."]
    rows = [
        row("fr", 0, ["Je m'appelle Camille.", "J'habite à Lyon.", *HOBBIES[:3]], other),
        row("fr", 1, ["Je m'appelle Camille.", "J'habite à Saint-Étienne.", *HOBBIES[:3]], HOBBIES),
        row("fr", 2, ["je m'appelle camille !", "J'habite à Lyon.", *HOBBIES[:3]], ["Je suis pilote."]),
    ]
    c = compute_stats(rows)["languages"]["fr"]["persona_collapse"]
    assert c["personas"] == 6 and c["persona_sentences"] == 26
    # distinct: Camille (2 forms, 1 key), Lyon, Saint-Étienne, 5 hobbies, 5 others, pilote = 14
    assert c["distinct_sentences"] == 14 and c["distinct_share"] == pytest.approx(14 / 26)
    top = c["top_sentences"][0]
    assert top["text"] == "J'ai deux chats." and top["count"] == 4 and top["share"] == pytest.approx(4 / 6)
    assert c["top_sentences"][3] == {"text": "Je m'appelle Camille.", "count": 3, "share": 0.5}
    # names: "Camille" in rows 0 and 1, row 2 is lower case (not a name by the capital rule)
    assert c["personas_with_name"] == 2 and c["top_names"] == [{"text": "Camille", "count": 2, "share": 1.0}]
    assert [(p["text"], p["count"]) for p in c["top_places"]] == [("Lyon", 2), ("Saint-Étienne", 1)]
    # persona A of rows 0 and 2 are the same set (Jaccard 1); row 1's A shares 4 of 6 with each (0.67 >= 0.6);
    # row 1's B shares 3 of 7 with them (0.43): not the same person
    assert c["near_duplicate_pairs"] == 3 and c["personas_with_near_duplicate"] == 3
    assert c["near_duplicate_share"] == pytest.approx(0.5)


def test_twins_inside_one_dialogue_are_not_cross_dialogue_pairs():
    acc = PersonaCollapse("fr", 0.6)
    acc.add_dialogue([HOBBIES, HOBBIES])  # persona B = persona A: item 1's problem, not collapse across rows
    acc.add_dialogue([["Je suis pilote."], ["Je suis marin."]])
    assert acc.near_duplicates() == (0, 0)
    acc.add_dialogue([list(reversed(HOBBIES)), ["Je suis marin."]])
    # the new A is the same set as both personas of dialogue 0 (2 pairs); "marin" repeats across 1 and 2
    assert acc.near_duplicates() == (3, 5)


def test_every_default_language_has_name_and_place_phrases():
    patterns = entity_patterns()
    missing = [
        c for c in DEFAULT_LANGUAGES if not (patterns.get(c, {}).get("name") and patterns[c].get("place"))
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("lang", "persona", "expected"),
    [
        (
            "fr",
            ["Je m'appelle Marie Dupont.", "J'habite à Saint-Étienne."],
            {"name": "Marie", "place": "Saint-Étienne"},
        ),
        ("fr", ["J'habite à la campagne."], {}),
        ("es", ["Me llamo Lucía y vivo en Sevilla."], {"name": "Lucía", "place": "Sevilla"}),
        ("de", ["Ich heiße Jonas.", "Ich wohne in Bad Homburg."], {"name": "Jonas", "place": "Bad Homburg"}),
        ("zh", ["我叫王丽，住在成都。"], {"name": "王丽", "place": "成都"}),
        ("ja", ["名前は田中です。", "大阪に住んでいる会社員です。"], {"name": "田中", "place": "大阪"}),
        ("ja", ["家族と一緒に住んでいます。"], {}),
        ("ko", ["제 이름은 민수입니다.", "서울에 살아요."], {"name": "민수", "place": "서울"}),
        ("ru", ["Меня зовут Анна.", "Я живу в Казани."], {"name": "Анна", "place": "Казани"}),
        ("ar", ["اسمي أحمد.", "أعيش في القاهرة."], {"name": "أحمد", "place": "القاهرة"}),
        ("hi", ["मेरा नाम राहुल है।", "मैं दिल्ली में रहता हूँ।"], {"name": "राहुल", "place": "दिल्ली"}),
        ("en", ["My name is Bob."], {}),  # not a registry language: no phrases
    ],
)
def test_first_names_and_places(lang, persona, expected):
    assert persona_entities(persona, lang) == expected


def test_stats_report_with_xpersona(tmp_path, xpersona_sample):
    rows = [
        row("fr", i, ["Je m'appelle Camille.", "J'habite à Lyon.", *HOBBIES[:2]], HOBBIES) for i in range(4)
    ]
    rows += [row("zh", i, ["我叫王丽，住在成都。", "我喜欢喝茶。"], ["我是老师。"]) for i in range(3)]
    path, stats = run_stats(write_shards(tmp_path / "run", rows), tmp_path / "out", xpersona=xpersona_sample)
    on_disk = json.loads((tmp_path / "out" / "stats.json").read_text(encoding="utf-8"))
    assert set(on_disk["xpersona"]["languages"]) == {"fr", "zh"}
    fr = on_disk["languages"]["fr"]["persona_collapse"]
    assert fr["top_names"][0]["text"] == "Camille" and fr["personas_with_near_duplicate"] == 8
    human = on_disk["xpersona"]["languages"]["fr"]
    assert human["distinct_share"] > fr["distinct_share"]
    text = path.read_text(encoding="utf-8")
    assert "### Persona collapse" in text and "| fr | XPersona |" in text and "| zh | MOUD |" in text
    assert (tmp_path / "out" / "persona_collapse.png").stat().st_size > 10_000


def test_stats_cli_refuses_a_missing_xpersona_folder(tmp_path):
    from moud_core.errors import MoudError

    run = write_shards(tmp_path / "run", [make_row("fr", 0)])
    with pytest.raises(MoudError, match="--xpersona .*: not a folder"):
        run_stats(run, tmp_path / "out", xpersona=tmp_path / "nope")
    assert not (tmp_path / "out").exists()


def test_real_xpersona_personas_are_varied(xpersona_dir):
    """The human reference: varied sentences, no sentence in more than a few percent of personas."""
    measured = xpersona_collapse(xpersona_dir, ["fr", "it", "id", "ja", "ko", "zh"])["languages"]
    assert measured, "no XPersona validation file"
    for lang, c in measured.items():
        assert 0.3 < c["distinct_share"] < 0.9, lang
        assert c["top_sentences"][0]["share"] < 0.05, lang
        personas = xpersona_personas(xpersona_file(xpersona_dir, lang, "valid"))
        assert c["personas"] == len(personas)


def test_collapse_of_an_empty_corpus():
    c = collapse_of([], "fr")
    assert c["personas"] == 0 and c["top_sentences"] == [] and c["near_duplicate_pairs"] == 0


def test_collapse_plot_shows_moud_beside_xpersona(tmp_path, monkeypatch):
    from eval.persona_collapse import collapse_section
    from tests.plot_checks import captured_figures

    rows = [row("fr", i, ["Je m'appelle Camille.", *HOBBIES[:2]], HOBBIES) for i in range(4)]
    rows.append(row("zh", 0, ["我叫王丽。"], ["我是老师。"]))
    stats = compute_stats(rows)
    human = collapse_of([[["J'ai un chat.", "Je lis."]], [["Je suis pilote."]]], "fr")
    stats["xpersona"] = {"folder": "xp", "split": "valid", "languages": {"fr": human}}
    with captured_figures(monkeypatch) as figs:
        collapse_section(stats, tmp_path)
    (fig,) = figs
    axes = fig.axes
    assert len(axes) == 3 and [t.get_text() for t in axes[0].get_xticklabels()] == ["fr", "zh"]
    # first panel: distinct share, MOUD (fr, zh) then XPersona (fr only; zh has no bar height)
    heights = [p.get_height() for p in axes[0].patches]
    fr = stats["languages"]["fr"]["persona_collapse"]["distinct_share"]
    assert (
        heights[0] == pytest.approx(fr)
        and heights[1] == pytest.approx(1.0)
        and heights[2] == pytest.approx(1.0)
    )
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["MOUD", "XPersona (human)"]
    box = legend.get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in axes)


def test_moud_stats_cli_with_xpersona(tmp_path, xpersona_sample, capsys):
    import moud_cli

    run = write_shards(
        tmp_path / "run", [row("it", i, ["Mi chiamo Giulia.", "Vivo a Roma."], HOBBIES) for i in range(2)]
    )
    out = tmp_path / "stats"
    assert (
        moud_cli.main(["stats", "--shards", str(run), "--out", str(out), "--xpersona", str(xpersona_sample)])
        == 0
    )
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    it = stats["languages"]["it"]["persona_collapse"]
    assert it["top_names"][0]["text"] == "Giulia" and it["top_places"][0]["text"] == "Roma"
    assert list(stats["xpersona"]["languages"]) == ["it"] and stats["xpersona"]["split"] == "valid"
    assert "| it | XPersona |" in (out / "report.md").read_text(encoding="utf-8")
    assert (
        moud_cli.main(["stats", "--shards", str(run), "--out", str(out), "--xpersona", str(tmp_path / "x")])
        == 2
    )
    assert "--xpersona" in capsys.readouterr().err
