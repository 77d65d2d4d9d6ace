"""Run a ``moud`` command in-process, with arguments of any type (paths, numbers); returns the exit status."""

from __future__ import annotations


def moud(*args) -> int:
    import moud_cli

    return moud_cli.main([str(a) for a in args])


def generate_args(out, base_url: str, dialogues: int = 2, languages: str = "fr,zh", *extra) -> list[str]:
    """A quiet ``moud generate`` command line against a loopback server serving model "m"."""
    head = ["generate", "--out", str(out), "--base-url", base_url, "--model", "m", "--languages", languages]
    return [*head, "--dialogues", str(dialogues), "--quiet", *map(str, extra)]
