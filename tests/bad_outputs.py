"""Bad output folders and umask checks shared by the tests of the commands that write a folder.

``bad_out(kind, tmp_path, monkeypatch)`` gives an ``--out`` that cannot be written: a regular file, a path
through a file, a folder inside a read-only folder, a read-only folder. Tests may run as root, for whom
chmod does not block writes: then creating entries under the read-only folder is refused by patching
``os.open``/``os.mkdir``/``open`` (as a read-only file system would refuse them), so the command meets a real
PermissionError either way.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import stat
from pathlib import Path

BAD_OUT_KINDS = ("file", "through_file", "in_read_only", "read_only")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT


def _refuse_writes_under(folder: Path, monkeypatch) -> None:
    prefix = str(folder.resolve())
    real_open, real_mkdir, real_builtin_open = os.open, os.mkdir, builtins.open

    def under(path) -> bool:
        try:
            return os.path.abspath(os.fspath(path)).startswith(prefix + os.sep)
        except TypeError:  # a file descriptor
            return False

    def denied(path):
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    def guarded_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS and under(path):
            raise denied(path)
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if under(path):
            raise denied(path)
        return real_mkdir(path, *args, **kwargs)

    def guarded_builtin_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and under(file):
            raise denied(file)
        return real_builtin_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)
    monkeypatch.setattr(builtins, "open", guarded_builtin_open)


def bad_out(kind: str, tmp_path: Path, monkeypatch) -> Path:
    """An output path of ``kind`` (one of ``BAD_OUT_KINDS``) that no command can write into."""
    if kind in ("file", "through_file"):
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder\n", encoding="utf-8")
        return blocker if kind == "file" else blocker / "out"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:
        _refuse_writes_under(locked, monkeypatch)
    return locked / "out" if kind == "in_read_only" else locked


def snapshot(root: Path) -> dict[str, int]:
    """Every path under ``root`` with its size (folders 0): to show nothing was written."""
    return {
        str(p.relative_to(root)): (p.stat().st_size if p.is_file() else 0) for p in sorted(root.rglob("*"))
    }


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def wrong_modes(root: Path, mask: int, skip: tuple[str, ...] = ()) -> list[str]:
    """Files not ``0666 & ~mask`` and folders not ``0777 & ~mask`` under ``root`` (``root`` included)."""
    bad = []
    for p in [root, *sorted(root.rglob("*"))]:
        if any(part in skip for part in p.relative_to(root).parts) or p.is_symlink():
            continue
        mode = stat.S_IMODE(p.stat().st_mode)
        want = (0o777 if p.is_dir() else 0o666) & ~mask
        if mode != want:
            bad.append(f"{p.relative_to(root) if p != root else '.'}: {oct(mode)} (expected {oct(want)})")
    return bad
