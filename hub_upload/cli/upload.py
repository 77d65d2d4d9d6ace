"""``moud upload``: validate a ``moud build`` folder and publish it to the Hugging Face Hub."""

from __future__ import annotations

import argparse

from moud_core.cli_help import describe

EPILOG = """\
The folder is validated before anything is sent: the card's YAML parses, its configs match the
Parquet files, every config loads with load_dataset (offline), and nothing else is in the folder
(caches, .env, tokens, drops/ unless --include-drops). Data files go first, in several commits;
the card goes last. Files already on the Hub with the same content are not sent again, so an
interrupted upload resumes by re-running the same command. The remote file list, sizes and
hashes are verified before success is reported.

Token: HF_TOKEN or the stored login (`hf auth login`); it is never printed.
Endpoint: HF_ENDPOINT (default https://huggingface.co).

examples:
  moud upload --folder runs/moud --repo my-org/moud --dry-run
  moud upload --folder runs/moud --repo my-org/moud --private
  moud upload --folder runs/moud --repo my-org/moud --revision v1.1 --message "Add Thai"
  moud upload --folder runs/moud --repo other-org/moud --create-pr
"""


DESCRIPTION = (
    "Publish a folder written by `moud build` as a Hugging Face dataset repo, "
    "safely (validated first), resumably (multi-commit) and verifiably."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    parser.add_argument(
        "--folder", required=True, help="the folder `moud build --out` wrote (README.md + data/)"
    )
    parser.add_argument("--repo", required=True, help="dataset repo id OWNER/NAME, e.g. my-org/moud")
    parser.add_argument("--private", action="store_true", help="create the repo as private (if it is new)")
    parser.add_argument(
        "--revision", default=None, help="branch to upload to (created if missing; default main)"
    )
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument(
        "--message", default=None, help="commit message (multi-commit uploads add '(part i/n)')"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and list files, sizes, total; send nothing"
    )
    parser.add_argument("--include-drops", action="store_true", help="also upload drops/<lang>/*.jsonl")
    parser.add_argument(
        "--full-check",
        action="store_true",
        help="load every config completely (not only streaming) before uploading",
    )
    parser.add_argument(
        "--max-files-per-commit", type=int, default=None, help="default from settings.yaml (100)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from hub_upload.upload import upload_dataset
    from moud_core.errors import ConfigError

    if args.max_files_per_commit is not None and args.max_files_per_commit < 1:
        raise ConfigError("--max-files-per-commit: expected a positive integer")
    upload_dataset(
        args.folder,
        args.repo,
        private=args.private,
        revision=args.revision,
        create_pr=args.create_pr,
        message=args.message,
        dry_run=args.dry_run,
        include_drops=args.include_drops,
        full_check=args.full_check,
        max_files_per_commit=args.max_files_per_commit,
        progress=False if args.quiet else None,
    )
    return 0
