"""Bootstrap CIs of kappa and Spearman (against per-replicate reference computations), trust verdicts per
language, and the judge-vs-human plot in `moud agreement`."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from scipy.stats import spearmanr

import moud_cli
from eval.agreement_stats import judge_trust
from eval.reliability import _resamples, kappa_bootstrap_ci, spearman_bootstrap_ci, weighted_kappa


def _pairs(n=40, seed=3):
    rng = random.Random(seed)
    a = [rng.randint(1, 5) for _ in range(n)]
    return a, [min(5, max(1, x + rng.choice((-1, 0, 0, 1)))) for x in a]


def test_kappa_ci_matches_replicate_by_replicate_reference():
    a, b = _pairs()
    ref = [
        weighted_kappa([a[i] for i in row], [b[i] for i in row])
        for idx in _resamples(len(a), 7, 450)
        for row in idx
    ]
    lo, hi = kappa_bootstrap_ci(a, b, seed=7, n_boot=450)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(ref, [2.5, 97.5])))
    assert lo < weighted_kappa(a, b) < hi
    assert kappa_bootstrap_ci(a, b, seed=7, n_boot=450) == (lo, hi)
    assert kappa_bootstrap_ci(a, b, seed=8, n_boot=450) != (lo, hi)


def test_spearman_ci_matches_scipy_per_replicate():
    a, b = _pairs()
    x = [v + 0.25 * (i % 3) for i, v in enumerate(a)]  # non-integer side, with ties on the other
    ref = []
    for idx in _resamples(len(x), 11, 300):
        for row in idx:
            xs, ys = [x[i] for i in row], [b[i] for i in row]
            if len(set(xs)) > 1 and len(set(ys)) > 1:
                ref.append(spearmanr(xs, ys)[0])
    lo, hi = spearman_bootstrap_ci(x, b, seed=11, n_boot=300)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(ref, [2.5, 97.5])))


def test_undefined_cis_are_nan():
    assert all(math.isnan(v) for v in kappa_bootstrap_ci([3], [3], seed=0))
    assert all(math.isnan(v) for v in spearman_bootstrap_ci([1, 2], [1, 2], seed=0))
    assert all(math.isnan(v) for v in kappa_bootstrap_ci([3, 3, 3], [3, 3, 3], seed=0))  # constant: no kappa


@pytest.mark.parametrize(
    "n, kappa, lo, verdict",
    [
        (9, 0.9, 0.8, "too few items"),
        (30, math.nan, math.nan, "too few items"),
        (30, 0.3, 0.1, "not trusted"),
        (30, 0.5, 0.3, "uncertain"),
        (30, 0.7, 0.45, "trusted"),
        (30, 0.4, 0.4, "trusted"),
    ],
)
def test_judge_trust(n, kappa, lo, verdict):
    assert (
        judge_trust({"n_items_judge_human": n, "kappa_judge_vs_mean": kappa, "kappa_ci_low": lo}) == verdict
    )


def test_report_names_the_languages_not_to_trust(tmp_path, capsys):
    rng = random.Random(0)
    records, lines = [], []
    for lang, faithful in (("fr", True), ("sw", False)):
        for i in range(40):
            item = f"{lang}-{i:07d}/dialogue"
            human = rng.randint(1, 5)
            judge = human if faithful else rng.randint(1, 5)
            records.append(
                {
                    "item_id": item,
                    "language": lang,
                    "generator_model": "m",
                    "kind": "dialogue",
                    "status": "ok",
                    "scores": {"fluency": judge},
                    "repeat": 0,
                }
            )
            lines += [
                f"{item},r1-{lang},fluency,{human}",
                f"{item},r2-{lang},fluency,{human if i % 4 else min(5, human + 1)}",
            ]
    (tmp_path / "judgments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "ratings.csv").write_text("item_id,rater,criterion,score\n" + "\n".join(lines) + "\n")
    out = tmp_path / "agree"
    assert (
        moud_cli.main(
            [
                "agreement",
                "--ratings",
                str(tmp_path / "ratings.csv"),
                "--judgments",
                str(tmp_path / "judgments.jsonl"),
                "--out",
                str(out),
                "--bootstrap",
                "300",
            ]
        )
        == 0
    )
    assert "judge not trusted for: sw" in capsys.readouterr().out
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "- **not trusted: sw** — fluency (κ" in report and "- **trusted: fr** — fluency (κ" in report
    rows = {r["language"]: r for r in json.loads((out / "agreement.json").read_text())}
    assert rows["fr"]["judge_trust"] == "trusted" and rows["sw"]["judge_trust"] == "not trusted"
    assert rows["fr"]["kappa_ci_low"] <= rows["fr"]["kappa_judge_vs_mean"] <= rows["fr"]["kappa_ci_high"]
    assert rows["sw"]["spearman_ci_low"] < rows["sw"]["spearman_ci_high"]
    assert (out / "judge_vs_human.png").read_bytes()[:4] == b"\x89PNG"
