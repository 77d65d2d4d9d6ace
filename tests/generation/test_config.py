"""Run config: flags override single fields (never whole sections), checks run on the merged result, and an
error names the file or the command line that set the bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest

import moud_cli
from generation.cli.generate import build_parser, overrides_from_args
from generation.config import load_run_config
from generation.executors.local import backend_options
from moud_core.errors import ConfigError
from tests import ROOT

YAML = """\
backend_options:
  base_url: http://127.0.0.1:9/v1
  max_concurrency: 7
  timeout: 33
  extra_body: {top_k: 40}
"""


def _cfg(tmp_path, *flags, yaml_text=YAML):
    import argparse

    path = tmp_path / "run.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    parser = argparse.ArgumentParser()
    build_parser(parser)
    args = parser.parse_args(["--config", str(path), *flags])
    return load_run_config(args.config, overrides_from_args(args)), path


def test_base_url_flag_keeps_the_other_backend_options(tmp_path):
    cfg, _ = _cfg(tmp_path, "--base-url", "http://127.0.0.1:8001/v1")
    assert cfg["backend_options"] == {
        "base_url": "http://127.0.0.1:8001/v1",
        "max_concurrency": 7,
        "timeout": 33,
        "extra_body": {"top_k": 40},
    }
    assert backend_options(cfg)["max_concurrency"] == 7


def test_merged_options_are_still_checked(tmp_path, monkeypatch):
    cfg, path = _cfg(
        tmp_path, "--base-url", "http://127.0.0.1:8001/v1", yaml_text=YAML + "  api_key: sk-secret\n"
    )
    with pytest.raises(ConfigError, match=f"{path}: backend_options.api_key: do not put secrets"):
        backend_options(cfg)
    cfg, path = _cfg(
        tmp_path, "--base-url", "http://127.0.0.1:8001/v1", yaml_text=YAML + "  max_concurency: 3\n"
    )
    with pytest.raises(ConfigError, match="unknown option.*max_concurency"):
        backend_options(cfg)
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    cfg, _ = _cfg(tmp_path)
    with pytest.raises(ConfigError, match="--api-key-env NO_SUCH_KEY_VAR: environment variable is not set"):
        backend_options(cfg, "NO_SUCH_KEY_VAR")


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--dialogues", "-5"],
            "command line: field 'dialogues_per_language': expected an integer >= 0, got -5",
        ),
        (
            ["--set", "dialogue.max_turns=abc"],
            "command line: field 'dialogue.max_turns': expected a number, got 'abc'",
        ),
        (
            ["--languages", ""],
            "--languages: expected comma-separated language codes, a list of them or 'all', got ''",
        ),
        (["--set", "persona.sentence=4"], "command line: unknown field 'persona.sentence'"),
    ],
)
def test_bad_values_name_where_they_came_from(tmp_path, capsys, flags, message):
    assert moud_cli.main(["generate", "--show-prompts", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_bad_value_in_a_file_names_the_file(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("dialogue:\n  min_turns: 1\n", encoding="utf-8")
    assert moud_cli.main(["generate", "--show-prompts", "--config", str(path)]) == 2
    assert f"{path}: field 'dialogue.min_turns': expected an integer >= 2, got 1" in capsys.readouterr().err


def test_help_shows_the_defaults():
    out = subprocess.run(
        [sys.executable, "-m", "moud_cli", "generate", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    flat = " ".join(out.split())
    for shown in (
        "(default fr)",
        "(default 10)",
        "(default 0)",
        "(default 256)",
        "(default 3)",
        "(default meta-llama/Llama-3.1-8B-Instruct)",
        "(default moud-prompts-v1)",
    ):
        assert shown in flat, shown
