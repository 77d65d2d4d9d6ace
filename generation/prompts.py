"""Versioned prompt templates (data in ``prompts/<version>.yaml``) and English demonstrations.

Each step's prompt is assembled from three parts kept separate in the template file:
*instructions*, *target-language constraints* and *English demonstrations*.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.jsonl import json_problem
from moud_core.languages import Language
from moud_core.taxonomy import SpeechEvent
from moud_core.writing_systems import script_name
from moud_core.yamlio import load_yaml

PROMPTS_DIR = Path(__file__).parent / "prompts"
DATA = Path(__file__).parent / "data"
DEFAULT_PROMPT_VERSION = "moud-prompts-v1"
_REQUIRED = {
    "persona": ("system", "instructions", "demonstrations_header", "demonstration"),
    "common_ground": ("system", "instructions"),
    "dialogue": ("system", "opening_user"),
}


_HEADS = 4096  # memoized dialogue prompt heads: about two per dialogue in flight


@dataclass(frozen=True)
class PromptSet:
    version: str
    templates: dict
    _heads: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, version_or_path: str | None = None) -> PromptSet:
        """A shipped version name (e.g. 'moud-prompts-v1') or a path to a YAML file of the same layout."""
        spec = version_or_path or DEFAULT_PROMPT_VERSION
        path = Path(spec) if spec.endswith((".yaml", ".yml")) else PROMPTS_DIR / f"{spec}.yaml"
        if not path.exists() and not spec.endswith((".yaml", ".yml")):
            shipped = sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml"))
            raise ConfigError(f"unknown prompt version {spec!r}; shipped versions: {', '.join(shipped)}")
        data = load_yaml(path)
        if not isinstance(data, dict) or not data.get("version"):
            raise ConfigError(f"{path}: expected a mapping with a 'version' string")
        for key in ("language_constraints",):
            if not isinstance(data.get(key), str):
                raise ConfigError(f"{path}: field '{key}' must be a string")
        for step, fields in _REQUIRED.items():
            section = data.get(step)
            if not isinstance(section, dict):
                raise ConfigError(f"{path}: missing section '{step}'")
            for f in fields:
                if not isinstance(section.get(f), str):
                    raise ConfigError(f"{path}: field '{step}.{f}' must be a string")
        return cls(str(data["version"]), data)

    # -- parts --------------------------------------------------------------------------------------
    def constraints(self, lang: Language) -> str:
        return self.templates["language_constraints"].format(**_lang_fields(lang))

    def persona_messages(
        self, lang: Language, categories: list[str], num_sentences: int, demos: list[list[str]]
    ) -> list[dict]:
        t = self.templates["persona"]
        fields = {
            **_lang_fields(lang),
            "num_sentences": num_sentences,
            "categories": "\n".join(f"- {c.replace('_', ' ').replace('/', ': ')}" for c in categories),
        }
        parts = [t["instructions"].format(**fields), self.constraints(lang)]
        if demos:
            shown = [
                t["demonstration"].format(
                    n=i + 1, sentences="\n".join(f"{j + 1}. {s}" for j, s in enumerate(d))
                )
                for i, d in enumerate(demos)
            ]
            parts.append(t["demonstrations_header"].format(**fields) + "\n" + "\n\n".join(shown))
        return [{"role": "system", "content": t["system"]}, {"role": "user", "content": "\n\n".join(parts)}]

    def common_ground_messages(
        self, lang: Language, persona_a: list[str], persona_b: list[str], event: SpeechEvent
    ) -> list[dict]:
        t = self.templates["common_ground"]
        fields = {
            **_lang_fields(lang),
            "persona_a": _bullets(persona_a),
            "persona_b": _bullets(persona_b),
            "speech_event_name": event.name,
            "speech_event_definition": event.definition,
        }
        user = t["instructions"].format(**fields) + "\n\n" + self.constraints(lang)
        return [{"role": "system", "content": t["system"]}, {"role": "user", "content": user}]

    def dialogue_messages(
        self,
        lang: Language,
        own_persona: list[str],
        common_ground: str,
        event: SpeechEvent,
        history: list[tuple[bool, str]],
    ) -> list[dict]:
        """``history``: (spoken_by_me, text) pairs. Own turns become 'assistant', the other's 'user'."""
        system, opening = self._dialogue_head(lang, own_persona, common_ground, event)
        messages = [{"role": "system", "content": system}]
        if not history or history[0][0]:
            messages.append({"role": "user", "content": opening})
        messages.extend({"role": "assistant" if mine else "user", "content": text} for mine, text in history)
        return messages

    def _dialogue_head(
        self, lang: Language, own_persona: list[str], common_ground: str, event: SpeechEvent
    ) -> tuple[str, str]:
        """(system prompt, opening user message) of one speaker of one dialogue: the same for every turn,
        so made once (memoized by everything they are made from)."""
        key = (lang, tuple(own_persona), common_ground, event.name, event.definition)
        head = self._heads.get(key)
        if head is None:
            t = self.templates["dialogue"]
            fields = {
                **_lang_fields(lang),
                "own_persona": _bullets(own_persona),
                "common_ground": common_ground,
                "speech_event_name": event.name,
                "speech_event_definition": event.definition,
            }
            system = t["system"].format(**fields) + "\n\n" + self.constraints(lang)
            head = (system, t["opening_user"].format(**fields))
            if len(self._heads) >= _HEADS:
                self._heads.clear()
            self._heads[key] = head
        return head


def _lang_fields(lang: Language) -> dict:
    return {
        "language_name": lang.name,
        "native_name": lang.native_name,
        "region_hint": lang.region_hint or f"places where {lang.name} is spoken",
        "script_name": script_name(lang.script),
    }


def _bullets(sentences: list[str]) -> str:
    return "\n".join(f"- {s}" for s in sentences)


# -- demonstrations ------------------------------------------------------------------------------


def load_demonstrations(path: str | None = None) -> list[list[str]]:
    """English personas: the shipped set, or personas read from a PersonaChat/XPersona-English file.

    Accepted files: XPersona format (JSON list of {"persona": [...], "dialogue": ...}), ParlAI/
    TransferTransfo PersonaChat JSON ({"train": [{"personality": [...]}, ...], "valid": [...]}),
    or YAML {"personas": [[...], ...]}.
    """
    if path is None:
        return [list(p) for p in load_yaml(DATA / "persona_demos.yaml")["personas"]]
    p = Path(path)
    if p.suffix in (".yaml", ".yml"):
        data = load_yaml(p)
        personas = data.get("personas") if isinstance(data, dict) else None
    else:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: demonstrations file not found") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}:{exc.lineno}: {json_problem(exc)}") from None
        personas = _personas_from_json(data, p)
    if not personas:
        raise ConfigError(
            f"{p}: no personas found (expected XPersona, PersonaChat or {{personas: [...]}} layout)"
        )
    seen, out = set(), []
    for i, persona in enumerate(personas):
        if not isinstance(persona, list) or not all(isinstance(s, str) for s in persona):
            raise ConfigError(f"{p}: persona {i}: expected a list of sentences")
        key = tuple(s.strip() for s in persona)
        if key and key not in seen:
            seen.add(key)
            out.append([s.strip() for s in persona if s.strip()])
    check_english(out, p)
    return out


def check_english(personas: list[list[str]], path: Path, sample: int = 200, max_other: float = 0.1) -> None:
    """The method shows English-only demonstrations: refuse a file whose personas are mostly in another
    language (language ID of each persona's joined sentences, over a fixed sample)."""
    from moud_gates.gates.lid import LidModel

    texts = [" ".join(p) for p in personas[:sample] if p]
    if not texts:
        return
    preds = LidModel().predict(texts, 1)
    other = [(i, pred[0]) for i, pred in enumerate(preds) if pred and pred[0][0] != "en"]
    if len(other) > max_other * len(texts):
        i, (label, prob) = other[0]
        raise ConfigError(
            f"{path}: demonstrations must be English PersonaChat personas, but {len(other)} of the "
            f"first {len(texts)} are not (persona {i} looks like {label!r}, p={prob:.2f}: "
            f"{texts[i][:60]!r}); use PersonaChat or XPersona's En_persona_*.json"
        )


def _personas_from_json(data, path: Path) -> list:
    if isinstance(data, list):
        return [d.get("persona") for d in data if isinstance(d, dict) and "persona" in d]
    if isinstance(data, dict):
        out = []
        for split in data.values():
            if isinstance(split, list):
                out.extend(d.get("personality") for d in split if isinstance(d, dict) and "personality" in d)
        return out
    raise ConfigError(f"{path}: expected a JSON list (XPersona) or object of splits (PersonaChat)")


def sample_demonstrations(rng: random.Random, demos: list[list[str]], k: int) -> list[list[str]]:
    return rng.sample(demos, k=min(k, len(demos))) if k > 0 else []
