"""User-facing errors: one line, naming the file/line/field and what was expected."""


class MoudError(Exception):
    """An error the CLI prints as one line (``moud: error: ...``) before exiting with status 2."""


class ConfigError(MoudError):
    """Bad configuration: names the file, line or field and what was expected."""


class BackendError(MoudError):
    """An LLM request failed for good (after retries). ``reason`` is a short machine-readable tag."""

    def __init__(self, message: str, reason: str = "backend_error"):
        super().__init__(message)
        self.reason = reason


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: unwinds like Ctrl-C (clean-up handlers run); ``exit_code`` is 130 or 143."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_RECEIVED: list[int] = []  # signals received by this process during the current command


def note_signal(signum: int) -> None:
    """Record a SIGINT/SIGTERM (the CLI's handler calls it before raising ``Interrupted``)."""
    _RECEIVED.append(signum)


def clear_signals() -> None:
    _RECEIVED.clear()


def raise_if_interrupted() -> None:
    """Raise ``Interrupted`` when a signal was received, even if its exception was swallowed where Python
    ignores exceptions (a fork hook, a ``__del__``): a staged output folder is never swapped into place
    after one (single files are still written whole: an interrupted run records its state)."""
    if _RECEIVED:
        raise Interrupted(_RECEIVED[0])


_OS_HINTS = {
    "ENOSPC": "disk full: free space or use another --out",
    "EDQUOT": "disk quota exceeded: free space or use another --out",
    "EROFS": "read-only file system: use another --out",
    "EACCES": "permission denied: use a writable --out",
    "EPERM": "permission denied: use a writable --out",
    "ENOTDIR": "a component of the path is a file, not a folder",
    "EEXIST": "a file is in the way of a folder",
    "EISDIR": "a folder is where a file was expected",
}


def os_error(path, exc: BaseException, action: str = "write") -> MoudError:
    """A one-line MoudError for an OSError (or sqlite3 error) while reading or writing ``path``."""
    import errno
    import sqlite3

    if isinstance(exc, MoudError):
        return exc
    if isinstance(exc, sqlite3.Error):
        why = str(exc)
        if "full" in why:
            why += " (disk full: free space or use another --out)"
        return MoudError(f"cannot {action} {path}: {why}")
    code = getattr(exc, "errno", None)
    why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    where = getattr(exc, "filename", None) or path
    hint = _OS_HINTS.get(errno.errorcode.get(code, ""))
    return MoudError(f"cannot {action} {where}: {why}" + (f" ({hint})" if hint and hint != why else ""))
