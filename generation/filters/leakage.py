"""Leakage gate: role labels, stage directions, assistant boilerplate, markdown, prompt phrases, persona copies."""

from __future__ import annotations

import functools

import regex

from generation.errors import ConfigError
from generation.filters.base import Drop, Gate, GateContext, clip
from generation.filters.config import DATA_DIR
from generation.text import normalize
from generation.yamlio import load_yaml

LEAKAGE_PATH = DATA_DIR / "leakage.yaml"


@functools.lru_cache(maxsize=1)
def leakage_rules() -> tuple[regex.Pattern | None, regex.Pattern | None]:
    data = load_yaml(LEAKAGE_PATH)
    rules = []
    for i, entry in enumerate(data.get("patterns") or []):
        try:
            rules.append((entry["name"], regex.compile(entry["pattern"], regex.IGNORECASE | regex.MULTILINE)))
        except (KeyError, TypeError):
            raise ConfigError(f"{LEAKAGE_PATH}: patterns[{i}]: expected a mapping with 'name' and 'pattern'") from None
        except regex.error as exc:
            raise ConfigError(f"{LEAKAGE_PATH}: patterns[{i}].pattern: invalid regex ({exc})") from None
    # one combined pattern (named groups) so each turn is scanned once
    combined = regex.compile("|".join(f"(?P<{name}>{pat.pattern})" for name, pat in rules),
                             regex.IGNORECASE | regex.MULTILINE) if rules else None
    phrases = [p for p in data.get("english_prompt_phrases") or [] if p]
    phrase_re = None
    if phrases:
        phrase_re = regex.compile(r"\b(?:" + "|".join(regex.escape(p) for p in phrases) + r")\b", regex.IGNORECASE)
    return combined, phrase_re


_PLAIN_PHRASE = regex.compile(r"[a-z0-9 '-]+")


@functools.lru_cache(maxsize=1)
def phrase_literals() -> tuple[str, ...] | None:
    """The English prompt phrases as plain substrings, a cheap pre-check before the phrase regex, or None.

    Sound because the regex runs on ``normalize()``d (case-folded) text, in which a case-insensitive match
    of a lowercase ASCII phrase can only be the phrase itself (the other case variants of ASCII letters,
    such as "K" or U+212A KELVIN SIGN, are case-folded away; tests/test_filters_fastpaths.py checks it).
    Only used when every phrase is plain lowercase ASCII."""
    phrases = [p for p in load_yaml(LEAKAGE_PATH).get("english_prompt_phrases") or [] if p]
    literals = tuple(p.lower() for p in phrases)
    return literals if all(_PLAIN_PHRASE.fullmatch(p) for p in literals) else None


class LeakageGate(Gate):
    name = "leakage"

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p = ctx.params
        combined, phrase_re = leakage_rules()
        literals = phrase_literals()
        check_phrases = phrase_re is not None and p["check_english_prompt_phrases"] and ctx.lang.lid_label != "en"
        persona = []
        min_tokens = p["persona_copy_min_tokens"]
        for s in dict.fromkeys(row["persona_a"] + row["persona_b"]):
            if len(normalize(s)) < min_tokens:  # at most one token per (normalized) character
                continue
            tokens = ctx.tokens(s)
            if len(tokens) >= min_tokens:
                persona.append((s, " ".join(tokens)))
        for i, turn in enumerate(row["turns"]):
            text = turn["text"]
            m = combined.search(text) if combined is not None else None
            if m:
                name = m.lastgroup
                return Drop(self.name, f"turns[{i}]: {name.replace('_', ' ')} {m.group(0).strip()!r} "
                            f"({clip(text, 40)!r})", {"field": f"turns[{i}]", "kind": name,
                                                        "match": m.group(0).strip()})
            if check_phrases:
                norm = normalize(text)
                m = phrase_re.search(norm) if literals is None or any(x in norm for x in literals) else None
                if m:
                    return Drop(self.name, f"turns[{i}]: English prompt phrase {m.group(0)!r} "
                                f"({clip(text, 40)!r})", {"field": f"turns[{i}]", "kind": "prompt_phrase",
                                                          "match": m.group(0)})
            if persona:
                joined = " " + " ".join(ctx.tokens(text)) + " "
                for sentence, key in persona:
                    if f" {key} " in joined:
                        return Drop(self.name, f"turns[{i}]: persona sentence copied verbatim "
                                    f"({clip(sentence, 40)!r})",
                                    {"field": f"turns[{i}]", "kind": "persona_copy", "match": sentence})
        return None
