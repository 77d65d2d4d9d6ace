"""Small recipes for experiment tests: the front half (generate → report) against the scripted servers."""

from __future__ import annotations

from pathlib import Path

FRONT = """\
recipe: test-front
seed: 3
languages: [fr, zh]
generate:
  model: scripted-crowdworker
  base_url: scripted
  inject: realistic
  dialogues_per_language: {dialogues}
  options: {{concurrency: 8}}
build:
  split_ratios: [0.6, 0.2, 0.2]
  seed: {split_seed}
judge:
  model: scripted-judge
  base_url: scripted
  kinds: [dialogue]
review:
  per_language: 2
  raters: 2
"""


def write_recipe(folder: Path, dialogues: int = 4, split_seed: int = 0, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "recipe.yaml"
    path.write_text(FRONT.format(dialogues=dialogues, split_seed=split_seed) + extra, encoding="utf-8")
    return path
