"""Output folders of the commands that write results into a folder the user names (``--out``).

- ``prepare_out_dir``: create the folder and check it can be written, before any work; a file in the way
  (as the folder or as one of its parents), a read-only folder or file system, a full disk: one line
  naming the path (``moud_core.errors.os_error``).
- ``os_errors``: turn an OSError raised while writing into that one line.
- ``replace_outputs``: write a command's files into a temp folder inside ``out``; when that succeeds, the
  files the command owns from an earlier run are removed and the new ones moved in (so no stale plot of
  an earlier run stays behind); when it fails, ``out`` is left as it was. Other files in ``out`` are kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from moud_core.atomic import make_temp_folder, remove_stale_temp
from moud_core.errors import ConfigError, os_error

_STAGING = "staging"


def _file_in_the_way(path: Path) -> Path | None:
    """The first existing component of ``path`` (itself or a parent) when it is not a folder."""
    for p in (path, *path.parents):
        if p.exists():
            return None if p.is_dir() else p
    return None


def prepare_out_dir(path: str | Path, flag: str = "--out") -> Path:
    """Create ``path`` (and its parents) and check that a file can be created in it."""
    path = Path(path)
    blocker = _file_in_the_way(path)
    if blocker is not None:
        where = "is a file" if blocker == path else f"goes through {blocker}, which is a file"
        raise ConfigError(f"{flag} {path}: {where}; expected a folder")
    with os_errors(path, "create"):
        path.mkdir(parents=True, exist_ok=True)
    try:
        fd, probe = tempfile.mkstemp(prefix=".moud-write-check.", dir=path)
    except OSError as exc:  # name the folder, not the probe file
        raise os_error(path, OSError(exc.errno, exc.strerror), "write to") from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextlib.contextmanager
def os_errors(path: str | Path, action: str = "write") -> Iterator[None]:
    """Re-raise an OSError of the block as a one-line MoudError naming the file (or ``path``)."""
    try:
        yield
    except OSError as exc:
        raise os_error(path, exc, action) from None


@contextlib.contextmanager
def replace_outputs(out: str | Path, owned: Iterable[str]) -> Iterator[Path]:
    """Yield an empty temp folder inside ``out`` (which must exist); when the block succeeds, files of
    ``out`` matching the ``owned`` glob patterns are removed and the temp folder's files moved into
    ``out``."""
    out = Path(out)
    base = out / _STAGING
    remove_stale_temp(base)
    with os_errors(out):
        tmp = make_temp_folder(base)
    try:
        yield tmp
        with os_errors(out):
            for pattern in owned:
                for old in out.glob(pattern):
                    if old.is_file():
                        old.unlink()
            for new in sorted(tmp.iterdir()):
                os.replace(new, out / new.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
