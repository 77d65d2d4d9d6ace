"""Helpers for generation tests: reading run folders, a slowed-down crowdworker."""

from __future__ import annotations

import json
from pathlib import Path


def read_rows(run: Path, kind: str = "shards") -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    base = Path(run) / kind
    if not base.exists():
        return out
    for lang_dir in sorted(base.iterdir()):
        rows = []
        for f in sorted(lang_dir.glob("shard-*.jsonl")):
            rows.extend(
                json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
            )
        out[lang_dir.name] = rows
    return out


def without_timings(rows_by_lang: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Rows with the one non-deterministic field (wall-clock seconds) removed."""
    out = {}
    for lang, rows in rows_by_lang.items():
        cleaned = []
        for r in rows:
            r = json.loads(json.dumps(r))
            r.get("metadata", {}).pop("generation_seconds", None)
            cleaned.append(r)
        out[lang] = cleaned
    return out


def slowed(responder, delay: float):
    """``responder`` (e.g. a ScriptedCrowdworker) answering after ``delay`` seconds; its own Reply objects
    (errors, reasoning) pass unchanged."""
    from generation.testing.fake_openai import Reply

    def slow(body):
        answer = responder(body)
        return answer if isinstance(answer, Reply) else Reply(content=answer, delay=delay)

    return slow
