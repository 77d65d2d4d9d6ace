"""Loaders (MOUD, XPersona, PersonaChat), balancing and candidates."""

from __future__ import annotations

import json

import pytest

from baselines.candidates import attach_candidates, load_candidates, save_candidates
from baselines.data import balance, load_instances, mix_sources, parse_source
from baselines.readers import iter_personachat, iter_xpersona
from moud_core.errors import MoudError
from moud_core.xpersona import xpersona_file, xpersona_languages
from tests.baselines.helpers import (
    FR,
    write_moud_dataset,
    write_moud_shards,
    write_personachat,
    write_xpersona,
)


def test_xpersona_files_load(xpersona_sample):
    langs = xpersona_languages(xpersona_sample, "valid")
    assert {"en", "fr", "ja", "ko"} <= set(langs)
    assert xpersona_file(xpersona_sample, "ja", "valid").name == "Jp_persona_split_valid_human_annotated.json"
    ja = list(iter_xpersona(xpersona_file(xpersona_sample, "ja", "valid")))
    raw = json.loads(xpersona_file(xpersona_sample, "ja", "valid").read_text(encoding="utf-8"))
    assert ja[0].language == "ja" and ja[0].persona == [s.strip() for s in raw[0]["persona"]]
    # the response side is the bot: first reply is the first pair's second element, history its first
    assert ja[0].reply == raw[0]["dialogue"][0][1].strip()
    assert ja[0].history == [raw[0]["dialogue"][0][0].strip()]
    assert ja[2].history[-1] == raw[0]["dialogue"][2][0].strip() and len(ja[2].history) == 5
    assert len({i.dialogue_id for i in ja}) == len(raw)
    en = load_instances(f"xpersona:{xpersona_sample}", ["en"], "valid")
    assert en and all(i.language == "en" for i in en)


def test_xpersona_file_names_cover_train_test_and_zh(tmp_path):
    assert (
        xpersona_file(write_xpersona(tmp_path, "Zh").parent, "zh", "test").name
        == "Zh_persona_split_test_human_annotated.json"
    )
    write_xpersona(tmp_path, "Fr", "train_corrected")
    assert xpersona_file(tmp_path, "fr", "train").name == "Fr_persona_train_corrected.json"
    (tmp_path / "En_persona_test.json").write_text("[]")
    assert xpersona_file(tmp_path, "en", "test").name == "En_persona_test.json"


def test_xpersona_bad_shape_names_file_and_dialogue(tmp_path):
    path = tmp_path / "Fr_persona_split_test_human_annotated.json"
    path.write_text(
        json.dumps([{"persona": ["a"], "dialogue": [["x", "y"]]}, {"persona": ["b"], "turns": []}])
    )
    with pytest.raises(MoudError, match=r"Fr_persona_split_test_human_annotated.json: dialogue 1: expected"):
        list(iter_xpersona(path))
    path.write_text(json.dumps([{"persona": ["a"], "dialogue": [["x", "y"], ["only one"]]}]))
    with pytest.raises(MoudError, match=r"dialogue 0, turn 1: expected a \[user_utterance, response\] pair"):
        list(iter_xpersona(path))
    path.write_text(json.dumps({"persona": []}))
    with pytest.raises(MoudError, match="expected a JSON list of dialogues"):
        list(iter_xpersona(path))


def test_absent_language_lists_what_is_there(tmp_path):
    write_xpersona(tmp_path, "Fr")
    write_xpersona(tmp_path, "Jp")
    with pytest.raises(MoudError, match=r"language\(s\) ko absent .*languages present: fr, ja"):
        load_instances(f"xpersona:{tmp_path}", ["ko"], "test")
    shards = write_moud_shards(tmp_path / "run")
    with pytest.raises(MoudError, match=r"de absent.*languages present: fr, zh"):
        load_instances(f"moud:{shards}", ["de"], "train")


def test_personachat_loader_and_bad_shape(tmp_path):
    path = write_personachat(tmp_path / "pc.json")
    inst = list(iter_personachat(path, "valid"))
    assert len(inst) == 6 and inst[0].reply == "gold 10.0" and inst[0].label == 4
    assert inst[1].history == ["hi 10", "hello 10", "how are you 1"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"train": [{"personality": ["p"], "utterances": [{"history": ["h"]}]}]}))
    with pytest.raises(MoudError, match=r"bad.json: train dialogue 0, utterance 0: expected .*candidates"):
        list(iter_personachat(bad, "train"))
    bad.write_text(json.dumps({"valid": []}))
    with pytest.raises(MoudError, match=r"bad.json: expected a JSON object with a 'train' list"):
        list(iter_personachat(bad, "train"))


def test_moud_shards_use_responding_speaker_persona(tmp_path):
    root = write_moud_shards(tmp_path)
    inst = load_instances({"type": "moud", "path": str(root)}, ["fr"], None)
    assert len(inst) == 6 * 3  # 4 turns -> 3 responses per dialogue
    first = inst[0]  # dialogue 0 starts with A, so turn 1 is B's
    assert first.turn == 1 and first.persona[0] == "Persona B 0." and first.history == [FR[0] + " (0.0)"]
    d1 = [i for i in inst if i.dialogue_id == "fr-0000001"][0]  # dialogue 1 starts with B -> turn 1 is A
    assert d1.persona[0] == "Persona A 1."
    # hash splits partition the rows
    parts = [load_instances(f"moud:{root}", ["fr"], s) for s in ("train", "validation", "test")]
    assert sum(map(len, parts)) == len(inst)


def test_moud_built_dataset_via_datasets(tmp_path):
    root = write_moud_dataset(tmp_path / "moud")
    test = load_instances(f"moud:{root}", ["zh", "fr"], "test")
    assert {i.language for i in test} == {"zh", "fr"} and len(test) == 2 * 3 * 3
    assert parse_source(f"moud:{root}@test")["split"] == "test"


def test_moud_built_dataset_errors_are_one_line(tmp_path):
    root = write_moud_dataset(tmp_path / "moud")
    with pytest.raises(MoudError, match=r"config 'fr' has no split 'validation'"):
        load_instances(f"moud:{root}", ["fr"], "validation")
    (tmp_path / "other").mkdir()
    with pytest.raises(MoudError, match=r"other: not a MOUD dataset folder or shards folder"):
        load_instances(f"moud:{tmp_path / 'other'}", ["fr"], "train")


def test_mix_and_balance(tmp_path):
    write_xpersona(tmp_path / "xp", "Fr", "train_corrected", n_dialogues=4)
    shards = write_moud_shards(tmp_path / "run", n_dialogues=6)
    mixed = mix_sources([f"xpersona:{tmp_path / 'xp'}", f"moud:{shards}@train"], ["fr", "zh"], "train")
    sources = {(i.language, i.source) for i in mixed}
    assert ("fr", "xpersona") in sources and ("zh", "moud") in sources
    capped = balance(mixed, "cap", 5, seed=1)
    assert all(sum(1 for i in capped if i.language == lg) == 5 for lg in ("fr", "zh"))
    assert capped == balance(mixed, "cap", 5, seed=1)
    up = balance(mixed, "upsample", seed=1)
    counts = {lg: sum(1 for i in up if i.language == lg) for lg in ("fr", "zh")}
    assert (
        counts["fr"] == counts["zh"] == max(sum(1 for i in mixed if i.language == lg) for lg in ("fr", "zh"))
    )


def test_candidates_seeded_shuffled_from_other_dialogues(tmp_path):
    write_xpersona(tmp_path, "Fr", n_dialogues=10, pairs=3)
    inst = load_instances(f"xpersona:{tmp_path}", ["fr"], "test")
    a = attach_candidates(inst, 20, seed=3)
    assert a == attach_candidates(list(reversed(inst)), 20, seed=3)[::-1]  # order-independent
    assert a != attach_candidates(inst, 20, seed=4)
    replies = {i.reply: i.dialogue_id for i in inst}
    for x in a:
        assert len(x.candidates) == 20 and len(set(x.candidates)) == 20
        assert x.candidates[x.label] == x.reply
        assert all(replies[c] != x.dialogue_id for i, c in enumerate(x.candidates) if i != x.label)
    assert len({x.label for x in a}) > 3  # gold is not always in one place
    path = tmp_path / "cands.jsonl"
    save_candidates(path, a)
    assert load_candidates(path) == a
    with pytest.raises(MoudError, match="only .* replies from other dialogues"):
        attach_candidates(inst[:4], 20)
