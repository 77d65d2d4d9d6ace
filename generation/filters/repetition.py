"""Repetition gate: repeated turns, n-gram loops inside a turn, a speaker echoing the other."""

from __future__ import annotations

from generation.filters.base import Drop, Gate, GateContext, clip
from moud_core.text import normalize


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """Same n-grams as ``moud_core.text.ngrams`` (built with zip: several times faster)."""
    if n <= 0:
        return [()] * (len(tokens) + 1)
    return list(zip(*(tokens[i:] for i in range(n)), strict=False))


def dup_ngram_frac(tokens: list[str], n: int) -> tuple[float, int]:
    """(share of n-grams that repeat an earlier n-gram of the same text, number of n-grams)."""
    grams = _ngrams(tokens, n)
    if not grams:
        return 0.0, 0
    return 1.0 - len(set(grams)) / len(grams), len(grams)


def containment(tokens: list[str], other: list[str], n: int) -> float:
    """Share of ``tokens``' n-grams that also occur in ``other``."""
    grams = _ngrams(tokens, n)
    if not grams:
        return 0.0
    pool = set(_ngrams(other, n))
    return sum(g in pool for g in grams) / len(grams)


class RepetitionGate(Gate):
    name = "repetition"

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p = ctx.params
        n = int(p["ngram_n"])
        seen: dict[str, int] = {}
        repeats = 0
        prev_grams: set | None = None
        prev_speaker = None
        cache = ctx.token_cache()
        for i, turn in enumerate(row["turns"]):
            tokens = cache.get(turn["text"]) if cache is not None else None
            if tokens is None:
                tokens = ctx.tokens(turn["text"])
            if len(tokens) >= p["min_tokens"]:
                key = normalize(" ".join(tokens))
                if key in seen:
                    repeats += 1
                    if repeats > p["max_repeated_turns"]:
                        return Drop(self.name, f"turns[{i}] repeats turns[{seen[key]}] "
                                    f"({repeats} repeated turns, at most {p['max_repeated_turns']} allowed) "
                                    f"({clip(turn['text'], 40)!r})",
                                    {"field": f"turns[{i}]", "kind": "repeated_turn", "repeated_turns": repeats})
                else:
                    seen[key] = i
            # n-grams once per turn: dup_ngram_frac and containment inlined
            grams = list(zip(tokens, tokens[1:], tokens[2:], strict=False)) if n == 3 else _ngrams(tokens, n)
            gram_set = set(grams)
            count = len(grams)
            frac = 1.0 - len(gram_set) / count if count else 0.0
            if count >= p["min_ngrams"] and frac > p["max_dup_ngram_frac"]:
                return Drop(self.name, f"turns[{i}]: {frac:.0%} of its {n}-grams are repeats, at most "
                            f"{p['max_dup_ngram_frac']:.0%} allowed ({clip(turn['text'], 40)!r})",
                            {"field": f"turns[{i}]", "kind": "ngram_loop", "dup_ngram_frac": round(frac, 4)})
            if prev_grams is not None and turn["speaker"] != prev_speaker and len(tokens) >= p["echo_min_tokens"]:
                # without repeated n-grams the positions in prev_grams are the set intersection
                hits = len(gram_set & prev_grams) if len(gram_set) == count else sum(g in prev_grams for g in grams)
                echo = hits / count if count else 0.0
                if echo >= p["max_echo_containment"]:
                    return Drop(self.name, f"turns[{i}] echoes turns[{i - 1}]: {echo:.0%} of its {n}-grams "
                                f"copied, below {p['max_echo_containment']:.0%} allowed "
                                f"({clip(turn['text'], 40)!r})",
                                {"field": f"turns[{i}]", "kind": "echo", "containment": round(echo, 4)})
            prev_grams, prev_speaker = gram_set, turn["speaker"]
        return None
