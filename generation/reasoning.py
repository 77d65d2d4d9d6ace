"""Reasoning written into an answer (``<think>…</think>``) is removed before parsing and only counted.

    visible = strip_reasoning("<think>The user wants French.</think>Salut !")
    visible.text == "Salut !"; visible.reasoning_chars == 31

Closed blocks, an unclosed opening tag (everything after it) and a closing tag whose opening tag was in
the prompt (everything before it) are removed; the tag names are data (``generation/data/reasoning.yaml``).
Reasoning a server returns apart from the content (vLLM's ``reasoning_content``) never reaches this
module: backends only count its tokens (``ChatResponse.reasoning_tokens``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from moud_core.yamlio import load_yaml

DATA = Path(__file__).parent / "data" / "reasoning.yaml"


@dataclass(frozen=True)
class Visible:
    """An answer with its reasoning removed."""

    text: str
    reasoning_chars: int = 0  # characters of reasoning removed (tags included)
    unclosed: bool = False  # an opening tag was never closed


@functools.lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    tags = "|".join(re.escape(t) for t in load_yaml(DATA)["tags"])
    opening = rf"<\s*(?:{tags})\s*>"
    closing = rf"<\s*/\s*(?:{tags})\s*>"
    block = re.compile(rf"{opening}.*?{closing}", re.I | re.S)
    return block, re.compile(opening, re.I), re.compile(closing, re.I)


def strip_reasoning(text: str) -> Visible:
    """``text`` without reasoning blocks (see module docstring); cheap when there is no tag at all."""
    if "<" not in text:
        return Visible(text)
    block, opening, closing = _patterns()
    removed = 0
    first_close, first_open = closing.search(text), opening.search(text)
    if first_close and (first_open is None or first_close.start() < first_open.start()):
        removed += first_close.end()
        text = text[first_close.end() :]  # the opening tag was part of the prompt
    stripped = block.sub("", text)
    removed += len(text) - len(stripped)
    unclosed = opening.search(stripped)
    if unclosed:
        removed += len(stripped) - unclosed.start()
        stripped = stripped[: unclosed.start()]
    return Visible(stripped.strip() if removed else stripped, removed, unclosed is not None)
