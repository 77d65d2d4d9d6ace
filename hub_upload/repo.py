"""Small pure pieces of an upload: repo ids, commit batches, URLs, the listing, the token (never shown)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from hub_upload.folder import FolderPlan
from hub_upload.local_files import LocalFile, human_size
from hub_upload.settings import load_settings
from moud_core.errors import ConfigError, MoudError


class UploadError(MoudError):
    """The upload failed or could not be verified; the message says what did and did not arrive."""


@dataclass
class UploadResult:
    repo_id: str
    url: str
    revision: str
    dry_run: bool
    files: list[str]  # every local file of the dataset
    total_bytes: int
    sent: list[str] = field(default_factory=list)  # files committed by this run
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # stale remote files removed
    commits: list[str] = field(default_factory=list)  # commit ids made by this run
    pr_url: str | None = None
    verified: bool = False


def validate_repo_id(repo_id: str) -> tuple[str, str]:
    m = re.match(load_settings().repo_id_pattern, repo_id or "")
    if not m or ".." in repo_id or "--" in repo_id or repo_id.endswith((".", "-", ".git")):
        raise ConfigError(
            f"--repo {repo_id!r}: invalid repo id; expected OWNER/NAME with letters, digits, "
            "'-', '_' or '.' (e.g. my-org/moud)"
        )
    return m["owner"], m["name"]


def plan_batches(files: list[LocalFile], max_files: int, max_bytes: int) -> list[list[LocalFile]]:
    batches, current, size = [], [], 0
    for f in files:
        if current and (len(current) >= max_files or size + f.size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        batches.append(current)
    return batches


def dataset_url(endpoint: str, repo_id: str, revision: str | None) -> str:
    url = f"{endpoint.rstrip('/')}/datasets/{repo_id}"
    return url + f"/tree/{quote(revision, safe='')}" if revision and revision != "main" else url


def load_snippet(repo_id: str, config: str, revision: str | None) -> str:
    rev = f", revision={revision!r}" if revision and revision != "main" else ""
    return f'from datasets import load_dataset\nds = load_dataset("{repo_id}", "{config}"{rev})'


def format_listing(plan: FolderPlan) -> list[str]:
    width = max(len(human_size(f.size)) for f in plan.files)
    lines = [f"  {human_size(f.size):>{width}}  {f.path}" for f in plan.files]
    lines.append(
        f"  total: {len(plan.files)} files, {human_size(plan.total_bytes)} ({plan.total_bytes} bytes)"
    )
    configs = ", ".join(c.name + (" (default)" if c.default else "") for c in plan.configs)
    lines.append(f"  configs: {configs}")
    return lines


class Redactor:
    """Replaces the token in any text that may be shown (errors, logs)."""

    def __init__(self, token: str | None):
        self.token = token

    def __call__(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


def resolve_token(token: str | None) -> str:
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise UploadError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (write access needed)")
    return found
