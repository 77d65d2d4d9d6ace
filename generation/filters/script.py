"""Script gate: the share of letters written in the language's expected Unicode script(s)."""

from __future__ import annotations

import functools

import regex

from generation.errors import ConfigError
from generation.filters.base import Drop, Gate, GateContext, clip, row_texts
from generation.filters.config import DATA_DIR
from generation.yamlio import load_yaml

# Letters that belong to a real script (Common/Inherited letters such as "ー" are neutral).
_LETTER = regex.compile(r"(?V1)[\p{L}--[\p{Script=Common}\p{Script=Inherited}]]")


@functools.lru_cache(maxsize=1)
def script_table() -> dict[str, list[str]]:
    return load_yaml(DATA_DIR / "scripts.yaml")


@functools.cache
def script_pattern(script: str) -> regex.Pattern:
    names = script_table().get(script)
    if not names:
        raise ConfigError(f"{DATA_DIR / 'scripts.yaml'}: no Unicode scripts listed for registry script {script!r}")
    return regex.compile("[" + "".join(f"\\p{{Script={n}}}" for n in names) + "]")


def script_share(text: str, script: str) -> tuple[float, int]:
    """(share of script letters that are in ``script``, number of script letters)."""
    letters = len(_LETTER.findall(text))
    if not letters:
        return 1.0, 0
    return len(script_pattern(script).findall(text)) / letters, letters


class ScriptGate(Gate):
    name = "script"

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p, script = ctx.params, ctx.lang.script
        failed = []
        for where, text in row_texts(row):
            share, letters = script_share(text, script)
            if letters >= p["min_letters"] and share < p["min_share"]:
                failed.append((where, text, share))
        if len(failed) > p["max_failed"]:
            where, text, share = failed[0]
            return Drop(self.name, f"{where}: {share:.0%} of letters in {script}, expected at least "
                        f"{p['min_share']:.0%} ({clip(text, 40)!r})",
                        {"field": where, "share": round(share, 4), "failed": len(failed)})
        return None
