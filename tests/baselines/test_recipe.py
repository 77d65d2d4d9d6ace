"""The recipe faults of issue #21: distractors within the instance's own source and language, --max-instances
sampled across sources and languages, a warning when the classification loss ends at chance, the gold reply's
context independent of the distractors, honest matrix charts (fixed scale, n, chance), --threads, and config
paths relative to the config file."""

from __future__ import annotations

import argparse
import json
import math

import pytest
import torch

from baselines.candidates import attach_candidates
from baselines.data import load_instances
from baselines.instance import Instance
from tests import ROOT
from tests.baselines.helpers import HISTORY, PERSONA, ZH, write_moud_shards, write_xpersona
from tests.plot_checks import captured_figures


@pytest.fixture
def mixed(tmp_path):
    write_xpersona(tmp_path / "xp", "Fr", "train_corrected", n_dialogues=8, pairs=3)
    write_xpersona(tmp_path / "xp", "Zh", "train_corrected", texts=ZH, n_dialogues=8, pairs=3)
    run = write_moud_shards(tmp_path / "run", n_dialogues=8)
    return (
        load_instances(f"xpersona:{tmp_path / 'xp'}", None, "train")
        + load_instances({"type": "moud", "path": str(run)}, None, "train")
        + load_instances({"type": "moud", "path": str(run)}, None, "test")
        + load_instances({"type": "moud", "path": str(run)}, None, "validation")
    )


def test_training_distractors_stay_within_source_and_language(mixed):
    by_key = {
        (i.source, i.language): {i.reply for i in mixed if (i.source, i.language) == (s, lg)}
        for i in mixed
        for s, lg in [(i.source, i.language)]
    }
    assert len(by_key) == 4  # xpersona fr/zh, moud fr/zh
    for inst in attach_candidates(mixed, 4, seed=1):
        own = by_key[(inst.source, inst.language)]
        assert all(c in own for c in inst.candidates), (inst.source, inst.language)
        assert len(inst.candidate_ids) == 4 and inst.candidate_ids[inst.label] == inst.id


def test_max_instances_samples_across_sources_and_languages(mixed):
    from baselines.sampling import stratified_sample

    picked = stratified_sample(mixed, 12, seed=3)
    strata = {(i.source, i.language) for i in mixed}
    counts = {key: sum((i.source, i.language) == key for i in picked) for key in strata}
    assert set(counts.values()) == {3}  # equal shares, not the first 12 rows (one stratum)
    assert stratified_sample(mixed, 12, seed=3) == picked and stratified_sample(mixed, 12, seed=4) != picked
    assert len(stratified_sample(mixed, 10**6)) == len(mixed)


def test_chance_level_classification_loss_is_warned():
    from baselines.train_summary import task_losses

    history = [
        {"step": 1, "loss": 3.0, "lm_loss": 1.2, "mc_loss": 0.9},
        {"step": 2, "loss": 2.0, "lm_loss": 1.0, "mc_loss": 0.69},
    ]
    at_chance = task_losses(history, 2)
    assert at_chance["mc_loss_chance"] == pytest.approx(math.log(2))
    (warning,) = at_chance["warnings"]
    assert "chance level (ln 2 = 0.693)" in warning
    learned = task_losses([{**history[-1], "mc_loss": 0.3}], 2)
    assert learned["warnings"] == [] and learned["final_mc_loss"] == 0.3
    assert task_losses([{**history[-1], "mc_loss": 2.9}], 20)["warnings"]  # ln 20 = 3.0


def test_gold_nll_does_not_depend_on_the_distractors_drawn(tiny_bloom):
    from baselines.evaluate import evaluate_instances
    from baselines.loading import load_tokenizer
    from baselines.model import MultitaskConfig, build_model

    cfg = MultitaskConfig(base_model=str(tiny_bloom), max_length=64, max_reply_tokens=16)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    tok = load_tokenizer(str(tiny_bloom))
    history = [" ".join(HISTORY * 4)]  # one utterance longer than the context: cut token by token to fit
    gold = "Oui."
    draws = (["Non.", "Bof."], ["Je ne sais pas du tout, " * 8, "Non."])  # short vs very long
    nll = []
    for distractors in draws:
        inst = Instance(
            "fr", PERSONA, history, gold, "d", 1, "test", [gold, *distractors], 0, ["d/1", "a/1", "b/1"]
        )
        _, (rec,) = evaluate_instances(model, tok, True, [inst], {"no_generate": True, "quiet": True})
        nll.append((rec["gold_nll"], rec["gold_tokens"]))
    assert nll[0] == nll[1]


def test_matrix_chart_fixed_scale_with_n_and_chance(tmp_path, monkeypatch):
    from baselines.report import matrix_chart, matrix_markdown

    cell = {"hits@1": 0.06, "turns": 40, "chance": 0.05}
    table = {"moud": {"xp": {"fr": cell}}, "both": {"xp": {"fr": {**cell, "hits@1": 0.07}}}}
    with captured_figures(monkeypatch) as figs:
        matrix_chart(table, tmp_path / "m.png")
    (fig,) = figs
    image = fig.axes[0].get_images()[0]
    assert (image.norm.vmin, image.norm.vmax) == (0, 100)  # noise near chance is not stretched to contrast
    top = fig.axes[0].child_axes[0]
    assert [t.get_text() for t in top.get_xticklabels()] == ["n=40\nchance 5.00%"]
    colourbar = fig.axes[1]
    assert [line.get_ydata()[0] for line in colourbar.get_lines()] == [5.0]
    md = matrix_markdown(table, ["**Note:** tiny"])
    assert "| *n (turns)* | 40 |" in md and "| *chance* | 5.00 |" in md and "- **Note:** tiny" in md


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_threads_option_in_help_and_applied(command, tmp_path):
    import importlib

    cli = importlib.import_module(f"baselines.cli.{command}")
    parser = argparse.ArgumentParser()
    cli.build_parser(parser)
    assert "--threads" in parser.format_help() and "leave torch's setting" in parser.format_help()
    from baselines.eval_options import set_threads

    before = torch.get_num_threads()
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1
        set_threads(None)
        assert torch.get_num_threads() == 1  # None leaves it as it is
    finally:
        torch.set_num_threads(before)


def test_config_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    from baselines.matrix import load_matrix
    from baselines.train import resolve_config

    (tmp_path / "cfgs").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "runs" / "m").mkdir(parents=True)
    cfg = tmp_path / "cfgs" / "train.yaml"
    cfg.write_text(
        "model: tiny-bloom\ntrain: ['xpersona:../data', {type: moud, path: ../data}]\nout: ../runs/x\n"
    )
    monkeypatch.chdir(ROOT / "docs")  # anywhere else
    resolved = resolve_config(str(cfg), {})
    data = str(tmp_path / "data")
    assert resolved["train"] == [f"xpersona:{data}", {"type": "moud", "path": data}]
    assert resolved["out"] == str(tmp_path / "runs" / "x") and resolved["model"] == "tiny-bloom"
    assert (
        resolve_config(str(cfg), {"out": "here"})["out"] == "here"
    )  # flags stay relative to the current folder
    mx = tmp_path / "cfgs" / "matrix.yaml"
    mx.write_text(json.dumps({"models": {"m": "../runs/m"}, "tests": {"t": "moud:../data@test"}}))
    models, tests, _, _ = load_matrix(str(mx), {})
    assert models == {"m": str(tmp_path / "runs" / "m")} and tests == {"t": f"moud:{data}@test"}
    shipped = resolve_config(str(ROOT / "baselines" / "configs" / "both.yaml"), {"out": "o"})
    assert [s["path"] for s in shipped["train"]] == [
        str(ROOT / "moud"),
        str(ROOT.parent / "shared" / "data" / "xpersona"),
    ]


def test_matrix_models_and_tests_from_the_command_line(tmp_path):
    from baselines.matrix import load_matrix
    from moud_core.errors import ConfigError

    (tmp_path / "m2").mkdir()
    mx = tmp_path / "matrix.yaml"
    mx.write_text(json.dumps({"models": {"m": "missing"}, "tests": {"t": "moud:x"}}))
    with pytest.raises(ConfigError, match="models.m: .*no such model folder"):
        load_matrix(str(mx), {})
    models, tests, _, _ = load_matrix(
        str(mx), {"models": [f"mine={tmp_path / 'm2'}"], "tests": ["xp=xpersona:XP@valid"]}
    )
    assert models == {"mine": str(tmp_path / "m2")} and tests == {"xp": "xpersona:XP@valid"}
    with pytest.raises(ConfigError, match="--matrix-model 'nope': expected NAME=VALUE"):
        load_matrix(str(mx), {"models": ["nope"]})
