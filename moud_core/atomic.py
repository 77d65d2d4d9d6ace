"""Atomic writes: nothing is ever half-written, and what is written follows the user's umask.

- ``atomic_open`` / ``atomic_write_text``: a temp file beside the target, renamed over it only when the
  block succeeds; removed on any error or interrupt.
- ``staged_folder``: a temp folder beside ``out`` that replaces ``out`` only when the block succeeds; the old
  folder comes back if the swap fails; the temp folder is removed on any error or interrupt. Temp folders of
  processes killed with SIGKILL (which cannot clean up) are removed by the next run writing the same ``out``.

``tempfile`` creates files 0600 and folders 0700 whatever the umask; everything here resets them to what
``open``/``mkdir`` would have given (0666/0777 minus the umask), unless ``private=True`` (secrets).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from moud_core.errors import raise_if_interrupted

_TMP_TAG = "moud-tmp"


def current_umask() -> int:
    """The process umask, read without changing it (Linux: /proc/self/status; else set-and-restore)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode(private: bool = False) -> int:
    return 0o600 if private else 0o666 & ~current_umask()


def folder_mode() -> int:
    return 0o777 & ~current_umask()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8", private: bool = False):
    """Write to a temp file beside ``path``; rename over it only if the block succeeds. The file gets the
    mode a plain ``open`` would give it (umask), or 0600 with ``private``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode(private))
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str, private: bool = False) -> None:
    with atomic_open(path, "w", private=private) as fh:
        fh.write(text)


def _owner_tag() -> str:
    return f"{_TMP_TAG}-{socket.gethostname()}-{os.getpid()}"


def _dead_owner(name: str, prefix: str) -> bool:
    """Whether temp folder ``name`` (made by ``staged_folder`` for the same target) belongs to a process of
    this host that no longer runs."""
    rest = name[len(prefix) :]
    host_pid = rest.split(".", 1)[0]
    host, _, pid = host_pid.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_stale_temp(out: Path) -> list[Path]:
    """Remove temp folders beside ``out`` left by killed runs (same host, process gone); returns them."""
    out = Path(out)
    prefix = f".{out.name}.{_TMP_TAG}-"
    removed = []
    if out.parent.is_dir():
        for p in out.parent.iterdir():
            if p.name.startswith(prefix) and p.is_dir() and _dead_owner(p.name, prefix):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def make_temp_folder(out: Path, kind: str = "new") -> Path:
    """An empty folder beside ``out``, named after it and this process, with the umask's mode."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{_owner_tag()}.{kind}-", dir=out.parent))
    os.chmod(tmp, folder_mode())
    return tmp


def swap_folder(new: Path, out: Path) -> None:
    """Put folder ``new`` at ``out``, replacing what is there; if that fails, the old ``out`` is restored."""
    new, out = Path(new), Path(out)
    raise_if_interrupted()
    if not out.exists():
        os.replace(new, out)
        return
    holder = make_temp_folder(out, "old")
    os.replace(out, holder / "previous")
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(holder / "previous", out)
        shutil.rmtree(holder, ignore_errors=True)
        raise
    shutil.rmtree(holder, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """Yield an empty temp folder beside ``out``; when the block succeeds it replaces ``out`` (see
    ``swap_folder``); on any error or interrupt it is removed and ``out`` is left as it was."""
    out = Path(out)
    remove_stale_temp(out)
    tmp = make_temp_folder(out)
    try:
        yield tmp
        swap_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
