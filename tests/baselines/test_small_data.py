"""A smoke run on a README-sized MOUD run (20 dialogues per language, 3 languages) with a tiny local model:
``moud train --model tiny-bloom`` builds it offline and labels it; ``moud evaluate`` succeeds without flags,
draws distractors from every split of the source, uses fewer candidates (with a warning) when fewer exist,
reports a starved language as not evaluated, and BERTScore without its model as not computed."""

from __future__ import annotations

import json

import pytest

from baselines.tiny import MARKER, NOTE
from tests.baselines.helpers import FR, ZH, write_moud_shards, write_xpersona
from tests.cli import moud

LANGS = (("fr", FR), ("zh", ZH), ("it", FR))
TRAIN = "--max-steps 3 --batch-size 2 --grad-accum 1 --max-length 64 --logging-steps 1 --threads 1 --quiet"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bl-small")
    shards = write_moud_shards(tmp / "run", languages=LANGS, n_dialogues=20)
    return {"tmp": tmp, "run": shards}


@pytest.fixture(scope="module")
def model(run):
    out = run["tmp"] / "model"
    assert (
        moud("train", "--model", "tiny-bloom", "--train", f"moud:{run['run']}", *TRAIN.split(), "--out", out)
        == 0
    )
    return out


def test_tiny_model_is_built_offline_labelled_and_loads_back(model, capsys):
    from transformers import AutoModelForCausalLM

    from baselines.loading import load_tokenizer

    summary = json.loads((model / "train_summary.json").read_text())
    assert summary["note"] == NOTE and summary["tiny_model"] == "tiny-bloom"
    assert json.loads((model / MARKER).read_text())["note"] == NOTE
    base = model / "tiny-base"
    lm = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
    assert lm.config.n_layer == 2 and type(lm).__name__ == "BloomForCausalLM"
    # the tokenizer was trained on the run's own text: a word of the run is a single token or two
    tok = load_tokenizer(str(base))
    assert len(tok.tokenize(" marché")) <= 2 and len(tok) <= 1000
    # per-task losses are logged at every logging step, and the last ones are in the summary
    assert all("lm_loss" in h and "mc_loss" in h for h in summary["loss_history"])
    assert summary["final_mc_loss"] == summary["loss_history"][-1]["mc_loss"]
    assert summary["mc_loss_chance"] == pytest.approx(0.6931, abs=1e-4)
    assert {k.split("/")[0] for k in summary["per_source"]} == {"moud"}


def test_tiny_llama_trains_with_lora_and_evaluates(run, tmp_path):
    out = tmp_path / "llama"
    args = ["--max-steps", "1", "--max-instances", "4", "--lora"]
    assert (
        moud(
            "train",
            "--model",
            "tiny-llama",
            "--train",
            f"moud:{run['run']}",
            *TRAIN.split(),
            *args,
            "--out",
            out,
        )
        == 0
    )
    assert json.loads((out / "tiny-base" / "config.json").read_text())["model_type"] == "llama"
    assert (out / "adapter_config.json").is_file()  # the adapter's base is the tiny model in OUT/tiny-base
    ev = tmp_path / "eval"
    flags = ["--split", "train", "--max-turns", "1", "--no-generate", "--num-candidates", "4"]
    assert moud("evaluate", "--model", out, "--test", f"moud:{run['run']}", *flags, "--out", ev) == 0
    assert json.loads((ev / "results.json").read_text())["note"] == NOTE


def test_wrong_model_name_gets_advice_that_fits(run, tmp_path, capsys):
    assert moud("train", "--model", "smollm2", "--train", f"moud:{run['run']}", "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "tiny-bloom" in err and "tiny-llama" in err and "already in the cache" in err
    assert "hf download smollm2" not in err  # no Hub id that does not exist
    assert not (tmp_path / "o").exists()


def test_evaluate_readme_sized_build_without_flags(run, model, tmp_path, capsys):
    from huggingface_hub import try_to_load_from_cache

    out = tmp_path / "eval"
    assert moud("evaluate", "--model", model, "--test", f"moud:{run['run']}", "--out", out, "--quiet") == 0
    printed = capsys.readouterr()
    assert f"note: {NOTE}" in printed.out
    res = json.loads((out / "results.json").read_text())
    assert res["note"] == NOTE and "ppl" in res["conventions"]
    assert set(res["languages"]) == {"fr", "zh", "it"}  # every language: evaluated, or not with the reason
    for lang, r in res["languages"].items():
        if r.get("evaluated") is False:
            assert r["reason"], lang
            continue
        assert r["candidates"] == 20 and r["chance"] == pytest.approx(0.05)
        assert (out / f"{lang}.jsonl").is_file()
    assert any(r.get("evaluated") is not False for r in res["languages"].values())
    if not isinstance(try_to_load_from_cache("bert-base-multilingual-cased", "config.json"), str):
        assert "not available offline" in res["not_computed"]["bertscore_f1"]
        assert "BERTScore F1: not computed" in (out / "results.md").read_text()
        assert "warning: BERTScore not computed" in printed.err


def test_fewer_distractors_than_asked_are_used_and_counted(run, model, tmp_path, capsys):
    out = tmp_path / "eval"
    args = ["--split", "train", "--num-candidates", "100", "--max-turns", "3", "--no-generate"]
    assert moud("evaluate", "--model", model, "--test", f"moud:{run['run']}", *args, "--out", out) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "too few replies" in line]
    assert len(warnings) == 3  # one line per language
    res = json.loads((out / "results.json").read_text())["languages"]
    for r in res.values():
        # 20 dialogues x 3 replies, less the 3 of the turn's own dialogue, plus the gold
        assert r["candidates"] == r["candidates_max"] == 58 and r["candidates_requested"] == 100
        assert r["chance"] == pytest.approx(1 / 58)


def test_distractors_come_from_every_split_never_the_same_dialogue(tmp_path, model):
    from baselines.evaluate import evaluation_options, prepare_instances

    xp = tmp_path / "xp"
    write_xpersona(xp, "Fr", n_dialogues=2, pairs=2)  # test: 2 dialogues, too few alone
    write_xpersona(xp, "Fr", "split_valid_human_annotated", n_dialogues=10, pairs=3)
    opts = evaluation_options(({"num_candidates": 8}, "test"))
    instances, skipped = prepare_instances(f"xpersona:{xp}", ["fr"], "test", opts)
    assert not skipped and len(instances) == 4
    for inst in instances:
        assert len(inst.candidates) == 8 and inst.candidate_ids[inst.label] == inst.id
        others = [c for i, c in enumerate(inst.candidate_ids) if i != inst.label]
        assert all(not c.startswith(inst.dialogue_id + "/") for c in others)
        assert any("valid" in c for c in others)
        assert inst.reply not in [c for i, c in enumerate(inst.candidates) if i != inst.label]


def test_starved_language_is_not_evaluated_and_the_rest_runs(tmp_path, model, capsys):
    xp = tmp_path / "xp"
    write_xpersona(xp, "Fr", n_dialogues=6, pairs=2)
    write_xpersona(xp, "Zh", texts=ZH, n_dialogues=1, pairs=2)  # one dialogue: no distractor anywhere
    out = tmp_path / "eval"
    assert moud("evaluate", "--model", model, "--test", f"xpersona:{xp}", "--no-generate", "--out", out) == 0
    err = capsys.readouterr().err
    assert "language 'zh': not evaluated" in err
    res = json.loads((out / "results.json").read_text())["languages"]
    assert res["zh"]["evaluated"] is False and "no reply of another dialogue" in res["zh"]["reason"]
    assert res["fr"]["turns"] == 12 and res["fr"]["hits@1"] >= 0
    assert "zh: not evaluated" in (out / "results.md").read_text()
