"""Helpers for the scale-out / fault-tolerance tests: run `moud generate` and `moud merge`, read units."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import ROOT

# A small run: 2 languages x 6 dialogues, 2 dialogues per work unit -> 6 units.
SMALL = ["--languages", "fr,zh", "--dialogues", "6", "--model", "m", "--quiet", "--set", "shard_size=2"]


def cli(*args, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "moud_cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nSTDOUT:\n{proc.stdout}\nSTDERR:\n{proc.stderr}")
    return proc


def popen(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "moud_cli", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def shard_files(run: Path, kind: str = "shards") -> list[str]:
    base = Path(run) / kind
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")) if base.exists() else []


def leftovers(run: Path) -> list[str]:
    """Temporary files an interrupted atomic write could leave behind (there must be none)."""
    return sorted(str(p) for p in Path(run).rglob(".*.tmp"))
