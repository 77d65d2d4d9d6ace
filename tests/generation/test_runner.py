"""Runner tests with an in-process scripted backend: determinism, failures, resume, config guard."""

from __future__ import annotations

import asyncio
import json

import pytest

from generation.config import load_run_config
from generation.run_output import prepare_output
from generation.scheduler import GenerationRun
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.local_backend import ResponderBackend
from generation.units import plan_units, select_units
from moud_core.backends.cache import CachedBackend
from moud_core.errors import ConfigError
from moud_core.languages import load_registry
from moud_core.runfolder import RunFolder
from moud_core.schema import validate_row
from tests.generation.helpers import read_rows


def run_once(out, overrides, responder=None, cache=False, units=None):
    cfg = load_run_config(None, overrides)
    langs = cfg["languages"]
    manifest = prepare_output(out, cfg)
    out.mkdir(parents=True, exist_ok=True)
    backend = ResponderBackend(responder or ScriptedCrowdworker())
    if cache:
        backend = CachedBackend(backend, out / "cache.sqlite")
    run = GenerationRun(cfg, out, backend, load_registry(), langs, units=units, quiet=True)

    async def go():
        try:
            return await run.run()
        finally:
            await backend.aclose()

    summary = asyncio.run(go())
    RunFolder(out, out / "shards").write_manifest(manifest, "complete", extra={"last_run": summary.to_dict()})
    return summary, backend


BASE = {"languages": ["fr", "zh", "ar"], "dialogues_per_language": 12, "shard_size": 5, "seed": 3}


def test_rows_are_valid_multilingual_and_carry_provenance(tmp_path):
    summary, _ = run_once(tmp_path / "run", BASE)
    rows = read_rows(tmp_path / "run")
    assert set(rows) == {"fr", "zh", "ar"}
    assert summary.made + summary.failed == 36 and summary.made > 20
    for lang, lang_rows in rows.items():
        ids = [r["id"] for r in lang_rows]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        for r in lang_rows:
            assert validate_row(r) == []
            assert r["language"] == lang
            m = r["metadata"]
            assert m["prompt_version"] == "moud-prompts-v1" and m["generator_model"] == "scripted-crowdworker"
            assert m["sampling"]["dialogue"]["temperature"] == 0.8 and m["seed"] == 3
            assert m["num_requests"] >= 3 + len(r["turns"])
            assert 12 <= len(r["turns"]) <= 16 or m["stop_reason"] in ("loop", "empty")
            speakers = [t["speaker"] for t in r["turns"]]
            assert speakers[0] == m["first_speaker"]
            assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False))
    assert any(
        "火锅" in " ".join(r["persona_a"] + r["persona_b"]) or "成都" in r["common_ground"]
        for r in rows["zh"]
    )
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["languages"]["fr"]["dialogues"] == len(rows["fr"])
    assert (tmp_path / "run" / "shards" / "fr" / "shard-00002.jsonl").exists()


def test_same_seed_same_output_other_seed_differs(tmp_path):
    run_once(tmp_path / "a", BASE)
    run_once(tmp_path / "b", BASE)
    run_once(tmp_path / "c", {**BASE, "seed": 4})
    a, b, c = (read_rows(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_failures_are_recorded_with_reasons_and_run_goes_on(tmp_path):
    summary, _ = run_once(
        tmp_path / "run",
        {**BASE, "languages": ["fr"], "dialogues_per_language": 10, "persona": {"max_attempts": 1}},
        responder=ScriptedCrowdworker(malformed_rate=0.5),
    )
    failures = read_rows(tmp_path / "run", "failures")["fr"]
    assert summary.failed == len(failures) > 0 and summary.made > 0
    assert all(
        f["step"] == "persona" and f["reason"] == "too_few_sentences"
        for f in failures
        if f["step"] == "persona"
    )
    assert summary.failure_reasons["persona/too_few_sentences"] >= 1


def test_retries_recover_malformed_personas(tmp_path):
    s1, _ = run_once(
        tmp_path / "one",
        {**BASE, "languages": ["fr"], "persona": {"max_attempts": 1}},
        responder=ScriptedCrowdworker(malformed_rate=0.3),
    )
    s3, _ = run_once(
        tmp_path / "three",
        {**BASE, "languages": ["fr"], "persona": {"max_attempts": 4}},
        responder=ScriptedCrowdworker(malformed_rate=0.3),
    )
    assert s3.failure_reasons["persona/too_few_sentences"] < s1.failure_reasons["persona/too_few_sentences"]


def test_resume_skips_complete_shards_and_uses_cache(tmp_path):
    out = tmp_path / "run"
    cfg = load_run_config(None, BASE)
    units = plan_units(BASE["languages"], 12, 5)
    run_once(out, BASE, cache=True, units=units[:4])  # a partial run: 4 of 9 units
    done = read_rows(out)
    summary, backend = run_once(out, BASE, cache=True)
    assert summary.skipped_units == 4
    full = read_rows(out)
    fresh = tmp_path / "fresh"
    run_once(fresh, BASE)
    assert full == read_rows(fresh)
    for lang, rows in done.items():
        assert full[lang][: len(rows)] == rows
    assert cfg.fingerprint == json.loads((out / "manifest.json").read_text())["fingerprint"]
    # a full re-run sends nothing: every unit is complete
    again, _ = run_once(out, BASE, cache=True)
    assert again.requests == 0 and again.skipped_units == 9


def test_cache_answers_a_rerun_of_incomplete_units(tmp_path):
    out = tmp_path / "run"
    run_once(out, BASE, cache=True)
    for f in (out / "shards").rglob("*.jsonl"):
        f.unlink()  # as if the process died before writing any shard
    summary, _ = run_once(out, BASE, cache=True)
    assert summary.requests > 0 and summary.cache_hits == summary.requests


def test_changed_config_is_refused(tmp_path):
    out = tmp_path / "run"
    run_once(out, BASE)
    cfg = load_run_config(None, {**BASE, "dialogue": {"max_turns": 20}})
    with pytest.raises(ConfigError, match=r"different config .*changed: dialogue.max_turns"):
        prepare_output(out, cfg)
    assert prepare_output(out, cfg, allow_mixed=True)["fingerprints"][-1] == cfg.fingerprint
    more = load_run_config(
        None, {**BASE, "dialogues_per_language": 40}
    )  # more dialogues: same content config
    prepare_output(out, more)


def test_select_units_partitions_work():
    units = plan_units(["fr", "zh"], 23, 5)
    parts = [select_units(units, 3, i) for i in range(3)]
    assert sorted(u for p in parts for u in p) == sorted(units)
    assert not set(parts[0]) & set(parts[1])
    with pytest.raises(ConfigError):
        select_units(units, 3, 3)
