"""The ``moud`` command: one entry point, subcommands implemented in each package's ``cli`` module.

Each subcommand module exposes ``build_parser(parser: argparse.ArgumentParser) -> None`` (adds its
arguments; the parser's description/epilog carry the help and an example) and ``run(args) -> int``.
Modules are imported lazily so ``moud --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

# name -> (module, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("generation.cli.generate", "synthesize personas, common ground and dialogues with an LLM"),
    "filter": ("moud_gates.cli.filter", "apply quality gates to shards; drops recorded with reasons"),
    "merge": ("generation.cli.merge", "combine shards from sharded runs of one config"),
    "build": ("moud_dataset.cli.build", "build the Hub-ready Parquet dataset (one config per language)"),
    "judge": ("eval.cli.judge", "score personas, common grounds and dialogues with an LLM judge"),
    "report": ("eval.cli.report", "aggregate judge scores and dataset statistics into a report"),
    "stats": ("eval.cli.stats", "dataset statistics that need no LLM"),
    "agreement": ("eval.cli.agreement", "agreement between the judge and human ratings"),
    "review": ("eval.cli.review", "native speakers rate a sample in the browser (sample, serve, export)"),
    "train": ("baselines.cli.train", "fine-tune the BLOOM multitask baseline on MOUD / XPersona / both"),
    "evaluate": ("baselines.cli.evaluate", "hits@1, perplexity, ROUGE-L, BERTScore per language"),
    "upload": ("hub_upload.cli.upload", "publish a built dataset folder to the Hugging Face Hub"),
    "experiment": ("moud_experiment.cli.experiment", "the paper's experiment from one recipe, resumable"),
}


def _top_parser() -> argparse.ArgumentParser:
    lines = [f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items()]
    parser = argparse.ArgumentParser(
        prog="moud",
        description="MOUD: multilingual open-domain dialogues synthesized by LLM crowdworkers.",
        epilog="commands:\n" + "\n".join(lines) + "\n\nRun 'moud COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", help="one of: " + ", ".join(COMMANDS))
    from moud_core import __version__

    parser.add_argument("--version", action="version", version=f"moud {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _top_parser()
        if argv and not argv[0].startswith("-"):
            parser.error(f"unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}")
        parser.parse_args(argv)
        parser.print_help()
        return 0 if not argv else 2
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(
        prog=f"moud {name}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=COMMANDS[name][1],
    )
    module.build_parser(parser)
    args = parser.parse_args(rest)
    from moud_core.errors import Interrupted, MoudError, clear_signals, os_error, raise_if_interrupted

    previous = _raise_on_signals(Interrupted)
    try:
        code = int(module.run(args) or 0)
        raise_if_interrupted()  # its exception was swallowed where Python ignores exceptions (a fork hook)
        return code
    except MoudError as exc:
        print(f"moud {name}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder the command could not read or write, named in the message
        print(f"moud {name}: error: {os_error(exc.filename or '?', exc, 'use')}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(
            f"moud {name}: interrupted by {signal.Signals(exc.signum).name}; nothing half-written is left",
            file=sys.stderr,
        )
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"moud {name}: interrupted", file=sys.stderr)
        return 130
    finally:
        _restore_signals(previous)
        clear_signals()


def _raise_on_signals(exc_type) -> dict:
    """SIGINT and SIGTERM (what Slurm and Kubernetes send) both unwind the command like Ctrl-C: clean-up
    handlers remove temp files, worker processes are stopped, manifests say "interrupted". Each signal is
    also recorded (``moud_core.errors.note_signal``): one whose exception Python swallowed still stops
    any later swap of a staged output folder into place (``atomic.swap_folder``) and sets the exit
    status. Returns the previous handlers (only the main thread can set them; elsewhere nothing
    changes)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    from moud_core.errors import note_signal

    def handler(signum, _frame):
        note_signal(signum)
        raise exc_type(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous: dict) -> None:
    for sig, old in previous.items():
        signal.signal(sig, old)


if __name__ == "__main__":
    sys.exit(main())
