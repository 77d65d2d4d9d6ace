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
