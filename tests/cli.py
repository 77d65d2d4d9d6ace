"""Run a ``moud`` command in-process, with arguments of any type (paths, numbers); returns the exit status."""

from __future__ import annotations


def moud(*args) -> int:
    import moud_cli

    return moud_cli.main([str(a) for a in args])
