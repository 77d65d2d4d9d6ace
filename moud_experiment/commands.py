"""Run one stage's ``moud`` command in this process, exactly as the standalone command runs it: the stage's
own CLI module parses the argv and calls its one function. Its output goes to the stage's log file."""

from __future__ import annotations

import argparse
import contextlib
import importlib
from pathlib import Path

from moud_core.errors import ConfigError

COMMAND_MODULES = {
    "generate": "generation.cli.generate",
    "filter": "moud_gates.cli.filter",
    "build": "moud_dataset.cli.build",
    "judge": "eval.cli.judge",
    "report": "eval.cli.report",
    "review": "eval.cli.review",
    "agreement": "eval.cli.agreement",
    "train": "baselines.cli.train",
    "evaluate": "baselines.cli.evaluate",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises a one-line ConfigError instead of printing usage and exiting."""

    def error(self, message: str):
        raise ConfigError(f"{self.prog}: {message} (check the recipe's options for this stage)")


def flags(options: dict) -> list[str]:
    """``{"max_turns": 50, "no_bertscore": True}`` -> ``["--max-turns", "50", "--no-bertscore"]``."""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + str(key).replace("_", "-")
        if value is True:
            out.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, (list, tuple)):
            out += [flag, ",".join(map(str, value))]
        else:
            out += [flag, str(value)]
    return out


def run_command(command: str, argv: list[str], log: Path) -> None:
    """``moud COMMAND ARGV`` with its stdout and stderr appended to ``log``; MoudError on failure."""
    from moud_core.errors import MoudError

    module = importlib.import_module(COMMAND_MODULES[command])
    parser = _Parser(prog=f"moud {command}", formatter_class=argparse.RawDescriptionHelpFormatter)
    module.build_parser(parser)
    args = parser.parse_args(argv)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ moud {command} {' '.join(argv)}\n")
        fh.flush()
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            code = int(module.run(args) or 0)
    if code:
        raise MoudError(f"moud {command} exited with status {code}; see {log}")
