"""One training or evaluation instance: (language, persona of the responder, history window, gold reply,
candidates), whatever the source (MOUD, XPersona, PersonaChat)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from moud_core.errors import MoudError


@dataclass
class Instance:
    """One response to predict. ``history`` is oldest first and ends with the partner's utterance."""

    language: str
    persona: list[str]
    history: list[str]
    reply: str
    dialogue_id: str
    turn: int
    source: str
    candidates: list[str] = field(default_factory=list)  # gold included once candidates are attached
    label: int = -1  # index of the gold reply in ``candidates``
    candidate_ids: list[str] = field(default_factory=list)  # where each candidate comes from (``reply_id``)

    @property
    def id(self) -> str:
        """The instance's id: ``<dialogue id>/<turn>``, also the id of its gold reply as a candidate."""
        return reply_id(self.dialogue_id, self.turn)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict, where: str = "") -> Instance:
        try:
            inst = cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj or k not in OPTIONAL})
        except (KeyError, TypeError) as exc:
            raise MoudError(
                f"{where}: expected an instance with fields {', '.join(cls.__dataclass_fields__)} ({exc})"
            ) from None
        problem = _problem(inst)
        if problem:
            raise MoudError(f"{where}: {problem}")
        return inst


OPTIONAL = ("candidate_ids",)  # absent from candidates files written before it existed


def reply_id(dialogue_id: str, turn: int) -> str:
    return f"{dialogue_id}/{turn}"


def _problem(inst: Instance) -> str | None:
    for name in ("persona", "history", "candidates", "candidate_ids"):
        value = getattr(inst, name)
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            return f"field {name!r}: expected a list of strings"
    for name in ("language", "reply", "dialogue_id", "source"):
        if not isinstance(getattr(inst, name), str):
            return f"field {name!r}: expected a string"
    for name in ("turn", "label"):
        if not isinstance(getattr(inst, name), int) or isinstance(getattr(inst, name), bool):
            return f"field {name!r}: expected an integer"
    if inst.candidates and not (0 <= inst.label < len(inst.candidates)):
        return f"label {inst.label} outside the {len(inst.candidates)} candidates"
    if inst.candidate_ids and len(inst.candidate_ids) != len(inst.candidates):
        return f"{len(inst.candidate_ids)} candidate_ids for {len(inst.candidates)} candidates"
    if inst.candidates and inst.candidates[inst.label] != inst.reply:
        return f"candidate {inst.label} (the label) is not the gold reply"
    return None


def window(history: list[str], max_history: int) -> list[str]:
    """The last ``2 * max_history + 1`` utterances (TransferTransfo's window); <0 keeps everything."""
    return list(history) if max_history < 0 else list(history[-(2 * max_history + 1) :])
