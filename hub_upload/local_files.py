"""Local files of a build folder: paths, sizes and (lazily, in one read pass) sha256 + git blob sha1."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1 << 20


def git_blob_sha1_header(size: int) -> bytes:
    return b"blob " + str(size).encode() + b"\0"


@dataclass
class LocalFile:
    path: str  # POSIX path inside the repo, e.g. "data/fr/train-00000-of-00001.parquet"
    abs_path: Path
    size: int
    _sha256: str | None = field(default=None, repr=False)
    _git_sha1: str | None = field(default=None, repr=False)

    def _hash(self) -> None:
        sha256 = hashlib.sha256()
        sha1 = hashlib.sha1(git_blob_sha1_header(self.size))
        with open(self.abs_path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                sha256.update(chunk)
                sha1.update(chunk)
        self._sha256, self._git_sha1 = sha256.hexdigest(), sha1.hexdigest()

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._hash()
        return self._sha256

    @property
    def git_sha1(self) -> str:
        """The git blob id (what the Hub reports as ``oid`` for regular, non-LFS files)."""
        if self._git_sha1 is None:
            self._hash()
        return self._git_sha1

    def matches_remote(self, remote) -> bool:
        """True when a remote ``RepoFile`` holds exactly this content (LFS sha256 or git blob id)."""
        if remote is None or remote.size != self.size:
            return False
        if remote.lfs is not None:
            return remote.lfs.sha256 == self.sha256
        return remote.blob_id == self.git_sha1


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
