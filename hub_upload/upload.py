"""Publish a validated ``moud build`` folder to a Hub dataset repo: multi-commit, resumable, verified.

Order: validate locally (no request) -> token -> whoami/ownership -> create_repo(exist_ok) -> compare with
the remote tree (unchanged files are skipped, so a re-run resumes) -> data files in batches of commits ->
card + marker (+ deletion of stale shards) in the last commit -> verify remote paths, sizes and hashes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from hub_upload.folder import validate_folder
from hub_upload.local_files import human_size
from hub_upload.repo import (
    UploadError,
    UploadResult,
    dataset_url,
    format_listing,
    load_snippet,
    resolve_token,
    validate_repo_id,
)
from hub_upload.retry import RetryPolicy
from hub_upload.settings import load_settings
from hub_upload.uploader import Uploader
from moud_core.errors import ConfigError


def upload_dataset(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    message: str | None = None,
    dry_run: bool = False,
    include_drops: bool = False,
    full_check: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    retry: RetryPolicy | None = None,
    max_files_per_commit: int | None = None,
    max_bytes_per_commit: int | None = None,
    progress: bool | None = None,
    out: Callable[[str], None] = print,
    sleep: Callable[[float], None] | None = None,
) -> UploadResult:
    """Validate ``folder`` (a ``moud build`` output) and publish it as the dataset repo ``repo_id``.

    Nothing is sent when validation fails or with ``dry_run``. The token comes from ``token``, ``HF_TOKEN``
    or the stored login and is never printed. ``endpoint`` defaults to ``HF_ENDPOINT`` or the public Hub.
    Raises MoudError (one line) on any failure; returns only after the remote was verified.
    """
    import time

    validate_repo_id(repo_id)
    if create_pr and revision and revision.startswith("refs/pr/"):
        raise ConfigError(
            "--create-pr with --revision refs/pr/N: to resume a pull request pass only --revision"
        )
    if progress is None:
        progress = sys.stderr.isatty()
    plan = validate_folder(folder, include_drops=include_drops, full_check=full_check, progress=progress)
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    base = revision or "main"
    if dry_run:
        out(
            f"Dry run: would upload {plan.folder} to dataset repo {repo_id} (revision {base}"
            f"{', as a pull request' if create_pr else ''}{', private' if private else ''}):"
        )
        for line in format_listing(plan):
            out(line)
        out(
            "Dry run: nothing was sent (remote files under data/ that are not listed above would be deleted)."
        )
        return UploadResult(
            repo_id=repo_id,
            url=dataset_url(endpoint, repo_id, base),
            revision=base,
            dry_run=True,
            files=[f.path for f in plan.files],
            total_bytes=plan.total_bytes,
        )
    import huggingface_hub.constants as hf_constants

    if hf_constants.HF_HUB_OFFLINE:
        raise UploadError(
            "offline mode is on (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set); "
            "set HF_HUB_OFFLINE=0 to upload"
        )
    token = resolve_token(token)
    limits = load_settings().commit
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    bars_were_disabled = are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        uploader = Uploader(
            plan,
            repo_id,
            token=token,
            endpoint=endpoint,
            private=private,
            revision=revision,
            create_pr=create_pr,
            message=message,
            policy=retry or RetryPolicy.from_settings(),
            max_files=max_files_per_commit or limits.max_files,
            max_bytes=max_bytes_per_commit or limits.max_bytes,
            progress=progress,
            out=out,
            sleep=sleep or time.sleep,
        )
        result = uploader.run()
    finally:
        if not progress and not bars_were_disabled:
            enable_progress_bars()
    default = next((c.name for c in plan.configs if c.default), plan.configs[0].name)
    example = next((c.name for c in plan.configs if c.name != default), default)
    out(
        f"Uploaded {plan.folder} to {result.url}: {len(result.sent)} file(s) sent in {len(result.commits)} "
        f"commit(s), {len(result.unchanged)} unchanged, {len(result.deleted)} stale file(s) deleted; "
        "remote file list, sizes and hashes verified "
        f"({len(plan.files)} files, {human_size(plan.total_bytes)})."
    )
    out("Load it with:")
    for line in load_snippet(repo_id, example, result.revision).splitlines():
        out("  " + line)
    return result
