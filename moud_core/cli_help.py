"""Help text of a ``moud`` subcommand: its description, and an epilog of examples kept as written."""

from __future__ import annotations

import argparse


def describe(parser: argparse.ArgumentParser, description: str, epilog: str) -> None:
    """Set ``parser``'s description and epilog; the epilog's line breaks and indentation are kept."""
    parser.description = description
    parser.epilog = epilog
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
