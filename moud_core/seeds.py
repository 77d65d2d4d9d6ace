"""Seeds: every random choice in MOUD is drawn from a seed derived from named parts."""

from __future__ import annotations

import hashlib


def derive_seed(*parts) -> int:
    """A 31-bit seed from any parts (stable across processes, machines and Python versions)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
