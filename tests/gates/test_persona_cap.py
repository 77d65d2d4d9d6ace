"""The optional persona cap: a persona sentence or first name used more than K times in a language is dropped
offline, in id order, after dedup; off by default."""

import copy
import json
import pickle

import pytest

from moud_gates.config import FilterConfig
from moud_gates.filter import filter_run
from moud_gates.pipeline import FilterPipeline, Signatures
from tests.gates.helpers import make_row

CAMILLE = "Je m'appelle Camille et j'habite à Lyon."


def rows(personas: list[tuple[list[str], list[str]]]) -> list[dict]:
    out = []
    for i, (a, b) in enumerate(personas):
        r = make_row("fr", index=i)
        for t in r["turns"]:
            t["text"] = f"{t['text']} ({i})"  # distinct dialogues: dedup keeps them all
        r["persona_a"], r["persona_b"] = list(a), list(b)
        out.append(r)
    return out


def pipeline(tmp_path, **cap) -> FilterPipeline:
    path = tmp_path / "cap.yaml"
    path.write_text(
        json.dumps({"gates": ["length", "dedup", "persona_cap"], "defaults": {"persona_cap": cap}}),
        encoding="utf-8",
    )
    return FilterPipeline.from_config(path)


def outcome(pipe: FilterPipeline, batch: list[dict]) -> list[str | None]:
    return [None if r.kept else r.drop.reason for r in map(pipe.check, copy.deepcopy(batch))]


def test_off_by_default():
    cfg = FilterConfig.load(None)
    assert "persona_cap" not in cfg.gates
    assert cfg.raw["defaults"]["persona_cap"] == {"max_sentence_uses": 0, "max_name_uses": 0}


def test_a_sentence_used_more_than_k_times_is_dropped(tmp_path):
    pipe = pipeline(tmp_path, max_sentence_uses=2)
    batch = rows([(["J'ai un chat."], ["Je suis pilote."])] * 3 + [(["J'ai un chien."], ["Je suis marin."])])
    got = outcome(pipe, batch)
    assert got[:2] == [None, None] and got[3] is None
    assert got[2] == (
        "persona sentence \"J'ai un chat.\" would be used 3 times in fr's kept rows, more than "
        "persona_cap.max_sentence_uses (2)"
    )
    assert pipe.stats.to_dict()["fr"]["dropped"] == {"persona_cap": 1}


def test_sentences_compare_normalized_and_count_per_persona(tmp_path):
    pipe = pipeline(tmp_path, max_sentence_uses=2)
    # both personas of row 0 say it (2 uses); row 1 says it again in another case and punctuation
    batch = rows([(["J'ai un chat."], ["j'ai un chat !"]), (["J'AI UN CHAT"], ["Je suis marin."])])
    got = outcome(pipe, batch)
    assert got[0] is None and "would be used 3 times" in got[1]


def test_a_first_name_used_more_than_k_times_is_dropped(tmp_path):
    pipe = pipeline(tmp_path, max_name_uses=1)
    batch = rows(
        [
            ([CAMILLE], ["Je suis marin."]),
            (["Mon prénom est Camille.", "J'aime le thé."], ["Je suis pilote."]),
            (["Je m'appelle Paul."], ["Je suis marin."]),
        ]
    )
    got = outcome(pipe, batch)
    assert got[0] is None and got[2] is None
    assert got[1].startswith("first name 'Camille' would be used 2 times in fr's kept rows")


def test_dropped_rows_do_not_count_and_release_forgets(tmp_path):
    pipe = pipeline(tmp_path, max_sentence_uses=1)
    batch = rows(
        [
            (["J'ai un chat."], ["Je suis pilote."]),
            (["J'ai un chat."], ["Je suis marin."]),
            (["Je suis marin."], ["Je lis."]),
        ]
    )
    got = outcome(pipe, batch)
    # row 1 is dropped for "chat", so its "marin" was never used: row 2 keeps it
    assert got[0] is None and got[1] is not None and got[2] is None
    pipe.release("fr")
    assert outcome(pipe, batch[:1]) == [None]


def test_filter_run_writes_persona_cap_drops(tmp_path):
    batch = rows([([CAMILLE, "J'ai un chat."], ["Je suis pilote."])] * 3)
    shard = tmp_path / "run" / "shards" / "fr" / "shard-00000.jsonl"
    shard.parent.mkdir(parents=True)
    shard.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch), encoding="utf-8")
    cfg = tmp_path / "cap.yaml"
    cfg.write_text(
        "gates: [length, dedup, persona_cap]\ndefaults: {persona_cap: {max_sentence_uses: 2}}\n",
        encoding="utf-8",
    )
    stats = filter_run(tmp_path / "run", tmp_path / "out", cfg)
    assert stats["languages"]["fr"]["kept"] == 2 and stats["languages"]["fr"]["dropped"] == {"persona_cap": 1}
    drop = json.loads((tmp_path / "out" / "drops" / "fr" / "shard-00000.jsonl").read_text(encoding="utf-8"))
    assert drop["gate"] == "persona_cap" and drop["row"]["id"] == batch[2]["id"]


def test_signatures_of_several_stateful_gates_travel_to_the_parent(tmp_path):
    pipe = pipeline(tmp_path, max_sentence_uses=1)
    drop, sig, _ = pipe.check_stateless(rows([(["J'ai un chat."], ["Je lis."])])[0])
    assert drop is None and isinstance(sig, Signatures) and len(sig) == 2
    assert isinstance(pickle.loads(pickle.dumps(sig)), Signatures)


@pytest.mark.parametrize("cap", [{}, {"max_sentence_uses": 0, "max_name_uses": 0}])
def test_listed_without_a_limit_drops_nothing(tmp_path, cap):
    pipe = pipeline(tmp_path, **cap)
    assert outcome(pipe, rows([([CAMILLE], [CAMILLE])] * 4)) == [None] * 4
