"""Acceptance probe: XPersona dialogues as MOUD rows, and the same rows with one turn replaced by English,
another target language or a romanization. Used by tests and benchmarks/filters_acceptance.py."""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from pathlib import Path

from moud_core.schema import example_row, split_group_for
from moud_core.xpersona import xpersona_file_candidates, xpersona_prefixes

XPERSONA_LANGS = tuple(sorted(code for code in xpersona_prefixes().values() if code != "en"))


def xpersona_file(directory: Path, code: str, split: str = "valid") -> Path:
    """The XPersona file of ``code`` and ``split`` (the first candidate name when none exists)."""
    candidates = xpersona_file_candidates(directory, code, split)
    return next((p for p in candidates if p.is_file()), candidates[0])


def xpersona_rows(directory: Path, code: str, split: str = "valid") -> list[dict]:
    """Each dialogue as a row: its persona for both speakers, the [user, response] pairs as A/B turns."""
    data = json.loads(xpersona_file(directory, code, split).read_text(encoding="utf-8"))
    rows = []
    for i, item in enumerate(data):
        turns = [(spk, text) for pair in item["dialogue"] for spk, text in zip("AB", pair, strict=False)]
        row = example_row(code, i, turns)
        persona = [s for s in item["persona"] if s.strip()]
        row.update(persona_a=persona, persona_b=list(persona), common_ground="",
                   split_group=split_group_for(code, persona, persona), speech_event="small_talk")
        rows.append(row)
    return rows


def utterances(directory: Path, code: str, min_chars: int = 20) -> list[str]:
    """Utterances of one XPersona language with at least ``min_chars`` characters."""
    data = json.loads(xpersona_file(directory, code).read_text(encoding="utf-8"))
    out = [" ".join(u.split()) for item in data for pair in item["dialogue"] for u in pair]
    return [u for u in out if len(u) >= min_chars]


# --- romanization -------------------------------------------------------------------------------------
_L = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_V = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
      "yu", "eu", "ui", "i"]
_T = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t",
      "ng", "t", "t", "k", "t", "p", "t"]


def romanize_hangul(text: str) -> str:
    """Revised-Romanization-style transliteration of Hangul syllables (no sound-change rules)."""
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(_L[code // 588] + _V[(code % 588) // 28] + _T[code % 28])
        else:
            out.append(ch)
    return "".join(out)


# Hand-written romanized conversational sentences (what an LLM produces when it slips into romaji/pinyin).
ROMANIZED = {
    "ja": ["konnichiwa, kyou wa ii tenki desu ne.", "watashi wa inu wo nihiki katte imasu.",
           "shumatsu wa itsumo nani wo shite imasu ka?", "sushi ga daisuki desu, anata wa?",
           "ashita tomodachi to eiga wo mi ni ikimasu.", "shigoto wa totemo isogashii desu kedo tanoshii desu.",
           "kinou wa ame datta node ie de hon wo yomimashita.", "nihon no ongaku wo yoku kikimasu ka?"],
    "zh": ["ni hao, jintian tianqi zhen hao a.", "wo you liang zhi gou, tamen hen ke'ai.",
           "ni zhoumo yiban zuo shenme?", "wo zui xihuan chi jiaozi, ni ne?",
           "mingtian wo yao he pengyou qu kan dianying.", "wo de gongzuo hen mang, dan shi hen you yisi.",
           "zuotian xia yu le, suoyi wo zai jia kan shu.", "ni xihuan ting zhongguo yinyue ma?"],
    "ko": ["annyeonghaseyo, oneul nalssiga jeongmal joneyo.", "jeoneun gaereul du mari kiwoyo.",
           "jumare boTong mwo haseyo?", "jeoneun bibimbabeul jeil joahaeyo, dangsineun?"],
}


def romanize(text: str, code: str, rng: random.Random) -> str:
    if code == "ko":
        return romanize_hangul(text)
    if code in ROMANIZED:
        return rng.choice(ROMANIZED[code])
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def replace_one_turn(row: dict, text: str, rng: random.Random) -> tuple[dict, int]:
    """A copy of ``row`` whose turn at a random position is ``text``; returns (row, position)."""
    new = json.loads(json.dumps(row))
    i = rng.randrange(len(new["turns"]))
    new["turns"][i]["text"] = text
    new["id"] = new["id"] + "-x"
    return new, i


def _by_parity(flags: list[bool]) -> dict[str, float]:
    """Rate of True among even- and odd-indexed dialogues (two halves for a held-out check of tuning)."""
    return {half: sum(flags[start::2]) / max(1, len(flags[start::2])) for half, start in (("even", 0), ("odd", 1))}


def measure(xp_dir: Path, config: str | None = None, seed: int = 0, languages=None) -> dict:
    """Keep rate on real dialogues and drop rates of the one-turn probes, per language."""
    from generation.filters.pipeline import FilterPipeline

    langs = [c for c in XPERSONA_LANGS if xpersona_file(xp_dir, c).is_file()]
    todo = [c for c in langs if languages is None or c in languages]
    pools = {c: utterances(xp_dir, c) for c in langs}
    pools["en"] = utterances(xp_dir, "en")
    results: dict = {}
    for code in todo:
        rows = xpersona_rows(xp_dir, code)
        pipe = FilterPipeline.from_config(config)
        human = [pipe.check(json.loads(json.dumps(r))) for r in rows]
        kept = sum(r.kept for r in human)
        res = {"dialogues": len(rows), "kept": kept, "keep_rate": kept / len(rows),
               "keep_rate_by_parity": _by_parity([r.kept for r in human]),
               "human_drops": dict(Counter(r.drop.gate for r in human if r.drop))}
        rng = random.Random(f"{seed}-{code}")
        others = [c for c in langs if c != code]
        probes = ["english", "other_language"] + (["romanized"] if code in ("ja", "ko", "zh") else [])
        for probe in probes:
            gates: Counter = Counter()
            outcomes = []
            for row in rows:
                if probe == "romanized":
                    text = romanize(row["turns"][rng.randrange(len(row["turns"]))]["text"], code, rng)
                elif probe == "english":
                    text = rng.choice(pools["en"])
                else:
                    text = rng.choice(pools[rng.choice(others)])
                bad, _ = replace_one_turn(row, text, rng)
                stateless_drop, _, _ = pipe.check_stateless(bad)  # dedup state is not consulted for probes
                outcomes.append(stateless_drop is not None)
                if stateless_drop is not None:
                    gates[stateless_drop.gate] += 1
            res[probe] = {"drop_rate": sum(outcomes) / len(rows), "drop_rate_by_parity": _by_parity(outcomes),
                          "by_gate": dict(gates)}
        results[code] = res
    return results
