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

from tqdm.auto import tqdm

from hub_upload.folder import FolderPlan, validate_folder
from hub_upload.local_files import human_size
from hub_upload.repo import (
    Redactor,
    UploadError,
    UploadResult,
    dataset_url,
    format_listing,
    load_snippet,
    plan_batches,
    resolve_token,
    validate_repo_id,
)
from hub_upload.retry import RetryPolicy, call_with_retries, describe, http_status, is_transient
from hub_upload.settings import load_settings
from moud_core.errors import ConfigError, MoudError

REPO_TYPE = "dataset"
DEFAULT_MESSAGE = "Upload MOUD dataset with `moud upload`"


class Uploader:
    """One upload run. Use :func:`upload_dataset`."""

    def __init__(
        self,
        plan: FolderPlan,
        repo_id: str,
        *,
        token: str,
        endpoint: str,
        private: bool,
        revision: str | None,
        create_pr: bool,
        message: str | None,
        policy: RetryPolicy,
        max_files: int,
        max_bytes: int,
        progress: bool,
        out: Callable[[str], None],
        sleep: Callable[[float], None],
    ):
        from huggingface_hub import HfApi

        self.plan, self.repo_id, self.private = plan, repo_id, private
        self.endpoint = endpoint.rstrip("/")
        self.revision, self.create_pr = revision, create_pr
        self.message = message or DEFAULT_MESSAGE
        self.policy, self.max_files, self.max_bytes = policy, max_files, max_bytes
        self.progress, self.out, self.sleep = progress, out, sleep
        self.redact = Redactor(token)
        self.api = HfApi(endpoint=self.endpoint, token=token)
        self.owner = repo_id.split("/")[0]
        self.committed: list[str] = []
        self.unchanged: list[str] = []
        self.pending: list[str] = []
        self.commits: list[str] = []

    # -- helpers ----------------------------------------------------------------------------------
    def _log(self, msg: str) -> None:
        print(self.redact(msg), file=sys.stderr)

    def _call(self, what: str, fn):
        try:
            return call_with_retries(fn, self.policy, what, log=self._log, sleep=self.sleep)
        except MoudError:
            raise
        except Exception as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: Exception) -> MoudError:
        status, detail = http_status(exc), self.redact(describe(exc))
        repo = f"dataset repo {self.repo_id} on {self.endpoint}"
        if status == 401:
            msg = (
                f"{what}: token rejected by {self.endpoint} (HTTP 401); set a valid HF_TOKEN or run "
                "`hf auth login`"
            )
        elif status == 403:
            msg = (
                f"{what}: access to {repo} denied (HTTP 403): the token cannot write there (repo owned by "
                "someone else, or a read-only token)"
            )
        elif status == 404:
            msg = (
                f"{what}: {repo} or revision {self.revision or 'main'!r} not found or not visible (HTTP 404)"
            )
        elif status is not None and status not in self.policy.status_codes:
            msg = f"{what}: the Hub refused the request ({detail})"
        elif is_transient(exc, self.policy):
            msg = f"{what}: network failure after {self.policy.attempts} attempt(s) ({detail})"
        else:
            msg = f"{what} failed ({detail})"
        if self.committed or self.pending:
            msg += "; " + self._arrival_report()
        return UploadError(self.redact(msg))

    def _arrival_report(self) -> str:
        arrived = sorted(set(self.committed) | set(self.unchanged))
        missing = [p for p in (f.path for f in self.plan.files) if p not in set(arrived)]
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        return (
            f"arrived: {len(arrived)}/{len(self.plan.files)} files ({len(self.committed)} sent in "
            f"{len(self.commits)} commit(s) this run); not arrived: {len(missing)} ({shown}); "
            "the upload is INCOMPLETE: re-run the same command to resume (files already there are not "
            "sent again)"
        )

    def remote_files(self, revision: str) -> dict:
        from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError
        from huggingface_hub.hf_api import RepoFile

        def listing():
            try:
                entries = self.api.list_repo_tree(
                    self.repo_id, repo_type=REPO_TYPE, revision=revision, recursive=True
                )
                return {e.path: e for e in entries if isinstance(e, RepoFile)}
            except (RevisionNotFoundError, EntryNotFoundError):
                return {}

        return self._call(f"listing files of {self.repo_id}@{revision}", listing)

    # -- steps ------------------------------------------------------------------------------------
    def check_identity(self) -> None:
        info = self._call("checking the token (whoami)", lambda: self.api.whoami())
        role = ((info.get("auth") or {}).get("accessToken") or {}).get("role")
        if role == "read":
            raise UploadError("the token is read-only (role 'read'); create a token with write access")
        if self.create_pr or (self.revision or "").startswith("refs/pr/"):
            return  # anyone may open (and push to their) pull request on a public repo; the Hub decides
        user = info.get("name")
        writable = {user} | {o.get("name") for o in info.get("orgs") or [] if o.get("roleInOrg") != "read"}
        if self.owner not in writable:
            raise UploadError(
                f"--repo {self.repo_id}: namespace {self.owner!r} belongs to someone else; the token's user "
                f"{user!r} can write to: {', '.join(sorted(n for n in writable if n))} "
                "(use --create-pr to propose the upload as a pull request)"
            )

    def ensure_repo(self) -> None:
        if not self.create_pr:
            self._call(
                f"creating dataset repo {self.repo_id}",
                lambda: self.api.create_repo(
                    self.repo_id, repo_type=REPO_TYPE, private=self.private, exist_ok=True
                ),
            )
        if self.private and not self.create_pr:
            info = self._call(
                f"reading dataset repo {self.repo_id}", lambda: self.api.dataset_info(self.repo_id)
            )
            if not info.private:
                raise UploadError(
                    f"--private: dataset repo {self.repo_id} already exists and is PUBLIC; nothing was "
                    "uploaded (make it private on the Hub first, or drop --private)"
                )
        if self.revision and not self.revision.startswith("refs/") and not self.create_pr:
            self._call(
                f"creating branch {self.revision!r}",
                lambda: self.api.create_branch(
                    self.repo_id, branch=self.revision, repo_type=REPO_TYPE, exist_ok=True
                ),
            )

    def hash_files(self) -> None:
        with tqdm(
            total=self.plan.total_bytes, unit="B", unit_scale=True, desc="hashing", disable=not self.progress
        ) as bar:
            for f in self.plan.files:
                _ = f.sha256
                bar.update(f.size)

    def run(self) -> UploadResult:
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        self.check_identity()
        self.ensure_repo()
        base = self.revision or "main"
        remote = self.remote_files(base)
        self.hash_files()
        last_paths = {self.plan.card.path} | ({self.plan.marker.path} if self.plan.marker else set())
        todo = [f for f in self.plan.files if not f.matches_remote(remote.get(f.path))]
        todo_paths = {f.path for f in todo}
        self.unchanged = [f.path for f in self.plan.files if f.path not in todo_paths]
        local_paths = {f.path for f in self.plan.files}
        stale = sorted(
            p
            for p in remote
            if p not in local_paths and any(p.startswith(prefix) for prefix in self.plan.managed_prefixes())
        )
        self.pending = [f.path for f in todo]
        batches = plan_batches([f for f in todo if f.path not in last_paths], self.max_files, self.max_bytes)
        final = [f for f in todo if f.path in last_paths]
        if final or stale:
            batches.append(final)  # the card (and stale-shard deletions) land last
        if not batches:
            self.out(f"{self.repo_id}@{base} already holds all {len(self.plan.files)} files; nothing to send")
        target, pr_url = base, None
        bar = tqdm(
            total=sum(f.size for f in todo),
            unit="B",
            unit_scale=True,
            desc="uploading",
            disable=not self.progress,
        )
        for i, batch in enumerate(batches, 1):
            deletes = stale if i == len(batches) else []
            title = self.message if len(batches) == 1 else f"{self.message} (part {i}/{len(batches)})"
            open_pr = self.create_pr and pr_url is None

            def commit(batch=batch, deletes=deletes, title=title, open_pr=open_pr, target=target):
                ops = [
                    CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(f.abs_path)) for f in batch
                ]
                ops += [CommitOperationDelete(path_in_repo=p) for p in deletes]
                return self.api.create_commit(
                    self.repo_id,
                    ops,
                    commit_message=title,
                    repo_type=REPO_TYPE,
                    revision=target,
                    create_pr=open_pr,
                )

            info = self._call(f"commit {i}/{len(batches)} ({len(batch)} files)", commit)
            self.commits.append(info.oid)
            self.committed.extend(f.path for f in batch)
            self.pending = [p for p in self.pending if p not in {f.path for f in batch}]
            bar.update(sum(f.size for f in batch))
            if open_pr:
                pr_url, target = info.pr_url, info.pr_revision
        bar.close()
        result = UploadResult(
            repo_id=self.repo_id,
            url=pr_url or dataset_url(self.endpoint, self.repo_id, base),
            revision=target,
            dry_run=False,
            files=[f.path for f in self.plan.files],
            total_bytes=self.plan.total_bytes,
            sent=list(self.committed),
            unchanged=list(self.unchanged),
            deleted=stale if batches else [],
            commits=list(self.commits),
            pr_url=pr_url,
        )
        self.verify(target, stale)
        result.verified = True
        return result

    def verify(self, revision: str, stale: list[str]) -> None:
        remote = self.remote_files(revision)
        problems = []
        for f in self.plan.files:
            r = remote.get(f.path)
            if r is None:
                problems.append(f"{f.path}: missing")
            elif r.size != f.size:
                problems.append(f"{f.path}: size {r.size} on the Hub, {f.size} locally")
            elif not f.matches_remote(r):
                problems.append(f"{f.path}: content differs")
        problems += [f"{p}: stale file still present" for p in stale if p in remote]
        if problems:
            shown = "; ".join(problems[:5]) + (f"; {len(problems) - 5} more" if len(problems) > 5 else "")
            raise UploadError(
                f"verification of {self.repo_id}@{revision} failed after upload: {shown}; the "
                "dataset on the Hub is INCOMPLETE: re-run the same command to resume"
            )


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
