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
    per_language: dict = field(default_factory=lambda: defaultdict(lambda: {"made": 0, "failed": 0}))

    def to_dict(self) -> dict:
        return {
            **{k: getattr(self, k) for k in _COUNTS},
            "failure_reasons": dict(self.failure_reasons),
            "wall_seconds": round(self.wall_seconds, 3),
            "gate_process": self.gate_process,
            "per_language": {k: dict(v) for k, v in self.per_language.items()},
        }

    def add(self, data: dict) -> None:
        """Add another run's ``to_dict()`` (e.g. one Ray task's) to this summary (wall time excepted)."""
        for key in _COUNTS:
            setattr(self, key, getattr(self, key) + int(data.get(key, 0)))
        self.failure_reasons.update(data.get("failure_reasons", {}))
        self.gate_process = self.gate_process or bool(data.get("gate_process"))
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
            self.failure_reasons[f"{f['step']}/{f['reason']}"] += 1

    def render(self) -> str:
        dropped = f", dropped {self.dropped} (--filter)" if self.dropped else ""
        lines = [
            f"made {self.made} dialogues, failed {self.failed}{dropped}"
            + (f", {self.skipped_units} shard(s) already complete" if self.skipped_units else ""),
            f"requests {self.requests} (cache hits {self.cache_hits}), tokens {self.prompt_tokens} prompt"
            f" + {self.completion_tokens} completion, {self.wall_seconds:.1f}s",
        ]
        for reason, n in self.failure_reasons.most_common():
            lines.append(f"  failed: {reason}: {n}")
        return "\n".join(lines)
