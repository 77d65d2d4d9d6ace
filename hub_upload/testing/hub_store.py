"""What the stand-in Hub stores: repos, branches, files (regular or LFS pointers) and commits."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field


@dataclass
class StoredFile:
    content: bytes | None = None  # regular file
    lfs_oid: str | None = None  # LFS pointer (content in StandInHub.lfs)
    size: int = 0

    def oid(self) -> str:
        data = (
            self.content
            if self.content is not None
            else (
                f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.lfs_oid}\nsize {self.size}\n"
            ).encode()
        )
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    owner: str
    private: bool
    branches: dict[str, dict[str, StoredFile]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    commits: list[dict] = field(default_factory=list)
    prs: int = 0


@dataclass
class Fault:
    method: str
    path_re: str
    status: int
    times: int = 1
    after: int = 0  # let this many matching requests through first


GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


def apply_commit(repo: Repo, branch: str, summary: str, ops: list[dict], lfs: dict[str, bytes]) -> str:
    """Apply one commit's operations to ``branch`` of ``repo``; returns the new head's oid."""
    files = repo.branches[branch]
    for op in ops:
        if op["key"] == "file":
            data = base64.b64decode(op["value"]["content"])
            files[op["value"]["path"]] = StoredFile(content=data, size=len(data))
        elif op["key"] == "lfsFile":
            files[op["value"]["path"]] = StoredFile(
                lfs_oid=op["value"]["oid"], size=len(lfs[op["value"]["oid"]])
            )
        elif op["key"] == "deletedFile":
            files.pop(op["value"]["path"], None)
        elif op["key"] == "deletedFolder":
            prefix = op["value"]["path"].rstrip("/") + "/"
            for p in [p for p in files if p.startswith(prefix)]:
                files.pop(p)
    oid = hashlib.sha1(f"{len(repo.commits)}:{summary}:{sorted(files)}".encode()).hexdigest()
    repo.commits.append({"oid": oid, "branch": branch, "summary": summary, "ops": [o["key"] for o in ops]})
    repo.heads[branch] = oid
    return oid
