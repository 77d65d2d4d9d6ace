"""Every default language's script is covered by a font family named in the page's CSS font stack
(checked with fontconfig, which Chromium uses; skips without fontconfig, fails in CI)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from eval.review.server import STATIC
from moud_core.languages import load_registry


def test_font_stack_covers_every_default_script():
    if not shutil.which("fc-list"):
        if os.environ.get("CI") == "true":
            pytest.fail(
                "fontconfig (fc-list) is missing in CI; .ci/run installs fonts-noto-core and fonts-noto-cjk"
            )
        pytest.skip("fontconfig (fc-list) not installed")
    stack = re.search(r"--sans:(.*?);", (STATIC / "review.css").read_text(encoding="utf-8"), re.S).group(1)
    families = {f.strip().strip('"') for f in stack.split(",")}
    uncovered = []
    for code, lang in load_registry().items():
        chars = " ".join(f"{ord(c):x}" for c in sorted(set(lang.native_name)) if not c.isspace())
        out = subprocess.run(
            ["fc-list", f":charset={chars}", "family"], capture_output=True, text=True, timeout=30
        ).stdout
        if not {f for line in out.splitlines() for f in line.split(",")} & families:
            uncovered.append(f"{code} ({lang.native_name})")
    if uncovered and os.environ.get("CI") != "true":
        pytest.skip(
            f"no installed font of the page's stack covers {', '.join(uncovered)} "
            "(apt-get install fonts-noto-core fonts-noto-cjk)"
        )
    assert not uncovered
