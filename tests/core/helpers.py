"""Helpers of the core tests."""

from __future__ import annotations

import random

MIXED_MAX_SHORT = 32  # a random text is this short or shorter half of the time

POOLS = {  # characters to mix: letters, marks, digits, punctuation, neutral letters, astral characters
    "ascii": " " * 8 + "abcXYZ019'.,!?-()[]\n\t",
    "latin1": "éàçÿÆß«»¿¡\xa0\xb5\xaa\xba",
    "latin": "ĀőŒſǅɐʰḀẞﬀ",
    "han": "的一是中国人们𠀀𪚥〇々〆",
    "kana": "あいうゐをんアイウヲンｱｲｳーゝヽ・",
    "hangul": "한국어가나다각",
    "arabic": "العربيةكتاب\u064b\u064e\u0650\u0652\u0670٠١٢؟،",
    "thai": "ภาษาไทย\u0e31\u0e34\u0e47\u0e48๑๒",
    "devanagari": "हिन्दीकखग\u093e\u093f\u094d\u0902०१",
    "cyrillic": "русскийЖЯё",
    "marks": "\u0300\u0301\u0308\u0345\u20dd",
    "emoji": "😀👍🏽\u200d\ufe0f🇫🇷",
    "digits": "0123456789٣१๓",
    "astral": "𝐀𝑎𐐀𐐨𞤀𖽐\U000e0041",
    "other": "\u2160\uff21\u3000\u2019\u00b7\ud800",
}


def random_mixed_texts(n: int, seed: int) -> list[str]:
    """``n`` seeded texts, each drawn from a random subset of ``POOLS`` with a random length (0..300), so
    that all of ``moud_core.shortcount``'s input paths (ASCII, Latin-1, per-character mapping, gather)
    occur."""
    rng = random.Random(seed)
    names = sorted(POOLS)
    texts = []
    for _ in range(n):
        pools = rng.sample(names, rng.randint(1, 4)) if rng.random() < 0.8 else ["ascii", "latin1"]
        chars = "".join(POOLS[p] for p in pools)
        length = rng.choice([rng.randint(0, MIXED_MAX_SHORT), rng.randint(0, 300)])
        texts.append("".join(rng.choice(chars) for _ in range(length)))
    return texts
