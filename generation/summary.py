"""``RunSummary``: what one ``moud generate`` invocation made, failed, spent and skipped."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

_COUNTS = (
    "made",
    "failed",
    "dropped",
    "skipped_units",
    "requests",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "rejected",
    "regenerated",
    "rejected_prompt_tokens",
    "rejected_completion_tokens",
)


@dataclass
class RunSummary:
    made: int = 0
    failed: int = 0
    dropped: int = 0
    skipped_units: int = 0
    failure_reasons: Counter = field(default_factory=Counter)
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_seconds: float = 0.0
    gate_process: bool = False  # whether the inline gates ran in a worker process
    inline_gates: bool | None = None  # outputs checked while generating? (None: nothing was to make)
    rejected: int = 0  # outputs rejected while generating (every attempt, trimmed ones not counted)
    regenerated: int = 0  # ... of which were asked again
    rejected_by: Counter = field(default_factory=Counter)  # who rejected them (gate, parse, truncation...)
    rejected_prompt_tokens: int = 0  # what the rejected outputs cost
    rejected_completion_tokens: int = 0
    failure_details: dict = field(default_factory=dict)  # failure reason -> its first detail (server words)
    per_language: dict = field(default_factory=lambda: defaultdict(lambda: {"made": 0, "failed": 0}))

    def to_dict(self) -> dict:
        return {
            **{k: getattr(self, k) for k in _COUNTS},
            "failure_reasons": dict(self.failure_reasons),
            "wall_seconds": round(self.wall_seconds, 3),
            "gate_process": self.gate_process,
            "inline_gates": self.inline_gates,
            "rejected_by": dict(self.rejected_by.most_common()),
            "failure_details": dict(self.failure_details),
            "per_language": {k: dict(v) for k, v in self.per_language.items()},
        }

    def add(self, data: dict) -> None:
        """Add another run's ``to_dict()`` (e.g. one Ray task's) to this summary (wall time excepted)."""
        for key in _COUNTS:
            setattr(self, key, getattr(self, key) + int(data.get(key, 0)))
        self.failure_reasons.update(data.get("failure_reasons", {}))
        self.gate_process = self.gate_process or bool(data.get("gate_process"))
        if data.get("inline_gates") is not None:
            self.inline_gates = bool(self.inline_gates) or bool(data["inline_gates"])
        self.rejected_by.update(data.get("rejected_by", {}))
        for reason, detail in data.get("failure_details", {}).items():
            self.failure_details.setdefault(reason, detail)
        for lang, counts in data.get("per_language", {}).items():
            entry = self.per_language[lang]
            for k, v in counts.items():
                entry[k] = entry.get(k, 0) + v

    def count_unit(self, language: str, made: int, failures: list[dict], dropped: int) -> None:
        """Add one written work unit."""
        self.made += made
        self.failed += len(failures)
        self.dropped += dropped
        entry = self.per_language[language]
        entry["made"] += made
        entry["failed"] += len(failures)
        if dropped:
            entry["dropped"] = entry.get("dropped", 0) + dropped
        for f in failures:
            key = f"{f['step']}/{f['reason']}"
            self.failure_reasons[key] += 1
            if f.get("detail"):
                self.failure_details.setdefault(key, " ".join(str(f["detail"]).split())[:300])

    def count_rejections(self, rejections) -> None:
        """Add one dialogue's rejections (``output_checks.Rejection``: step, field, attempt, the verdict,
        action); trimmed outputs were kept: not counted."""
        for note in rejections:
            if note.action != "trimmed":
                self.rejected += 1
                self.regenerated += note.action == "regenerated"
                self.rejected_by[note.drop.gate] += 1

    def render(self) -> str:
        dropped = f", dropped {self.dropped} (--filter)" if self.dropped else ""
        lines = [
            f"made {self.made} dialogues, failed {self.failed}{dropped}"
            + (f", {self.skipped_units} shard(s) already complete" if self.skipped_units else ""),
            f"requests {self.requests} (cache hits {self.cache_hits}), tokens {self.prompt_tokens} prompt"
            f" + {self.completion_tokens} completion, {self.wall_seconds:.1f}s",
        ]
        if self.inline_gates is not None:
            lines.append(self.render_rejections())
        for reason, n in self.failure_reasons.most_common():
            detail = self.failure_details.get(reason)
            lines.append(f"  failed: {reason}: {n}" + (f" (first: {detail})" if detail else ""))
        return "\n".join(lines)

    def render_rejections(self) -> str:
        """One line: were outputs checked while generating, what was rejected, by whom, at what cost."""
        head = "inline gates on" if self.inline_gates else "inline gates off (unchecked: run moud filter)"
        if not self.rejected:
            return f"{head}: no output rejected"
        by = ", ".join(f"{who} {n}" for who, n in self.rejected_by.most_common())
        share = self.rejected_completion_tokens / max(1, self.completion_tokens)
        return (
            f"{head}: {self.rejected} output(s) rejected ({by}), {self.regenerated} of them asked again; "
            f"they cost {self.rejected_prompt_tokens} prompt + {self.rejected_completion_tokens} completion "
            f"tokens ({share:.0%} of completion tokens)"
        )
