"""hub_upload: local validation of a `moud build` folder, repo ids, batching and retry policy (no network)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hub_upload.folder import FolderError, validate_folder
from hub_upload.local_files import LocalFile
from hub_upload.repo import plan_batches, validate_repo_id
from hub_upload.retry import RetryPolicy, call_with_retries, is_transient
from moud_core.errors import MoudError
from tests.hub_upload.helpers import make_build_folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return make_build_folder(tmp_path_factory.mktemp("upload-folder") / "moud")


@pytest.fixture
def folder(built, tmp_path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "moud"))


def test_valid_folder_plan(built):
    plan = validate_folder(built)
    paths = [f.path for f in plan.files]
    assert paths[0] == "README.md" and "moud_build.json" in paths
    assert sum(p.endswith(".parquet") for p in paths) == 9
    by_name = {c.name: c for c in plan.configs}
    assert set(by_name) == {"all", "fr", "ja", "th"} and by_name["all"].default
    assert by_name["fr"].rows == {"train": 4, "validation": 4, "test": 4}
    assert by_name["all"].rows["train"] == 12
    assert plan.total_bytes == sum((built / p).stat().st_size for p in paths)


def test_full_check_loads_every_config(built):
    plan = validate_folder(built, full_check=True)
    assert len(plan.configs) == 4


@pytest.mark.parametrize(
    "stray",
    [
        ".env",
        "hf_token",
        ".cache/datasets/x.arrow",
        "notes.txt",
        "data/fr/train.jsonl",
        "drops/fr/shard-00000.jsonl",
    ],
)
def test_stray_files_refused(folder, stray):
    (folder / stray).parent.mkdir(parents=True, exist_ok=True)
    (folder / stray).write_text("secret=1\n")
    with pytest.raises(FolderError, match="not part of a `moud build` dataset") as err:
        validate_folder(folder)
    assert stray in str(err.value) and "\n" not in str(err.value)
    if stray.startswith("drops/"):
        assert "--include-drops" in str(err.value)


def test_drops_included_when_asked(folder):
    (folder / "drops" / "fr").mkdir(parents=True)
    (folder / "drops" / "fr" / "shard-00000.jsonl").write_text('{"gate": "lid"}\n')
    plan = validate_folder(folder, include_drops=True, load_check=False)
    assert "drops/fr/shard-00000.jsonl" in [f.path for f in plan.files]
    assert "drops/" in plan.managed_prefixes()


def test_symlink_refused(folder, tmp_path):
    outside = tmp_path / "outside.parquet"
    outside.write_bytes(b"x")
    os.symlink(outside, folder / "data" / "fr" / "extra-00000-of-00001.parquet")
    with pytest.raises(FolderError, match="symbolic links"):
        validate_folder(folder)


def test_missing_card(folder):
    (folder / "README.md").unlink()
    with pytest.raises(FolderError, match="no README.md"):
        validate_folder(folder)


def test_card_without_front_matter(folder):
    (folder / "README.md").write_text("# just a title\n")
    with pytest.raises(FolderError, match=r"README.md:1: no YAML front matter"):
        validate_folder(folder)


def test_card_invalid_yaml_names_line(folder):
    (folder / "README.md").write_text("---\npretty_name: x\nconfigs: [unclosed\n---\n")
    with pytest.raises(FolderError, match=r"README.md:\d+: invalid YAML front matter"):
        validate_folder(folder)


def test_card_without_configs(folder):
    (folder / "README.md").write_text("---\npretty_name: x\n---\nbody\n")
    with pytest.raises(FolderError, match="no `configs:` list"):
        validate_folder(folder)


def test_config_pattern_matching_no_file(folder):
    card = folder / "README.md"
    card.write_text(card.read_text().replace("data/fr/test-*.parquet", "data/fr/testing-*.parquet"))
    with pytest.raises(
        FolderError, match=r"config 'fr' split 'test' path 'data/fr/testing-\*.parquet' matches no"
    ):
        validate_folder(folder)


def test_data_folder_without_config(folder):
    shutil.copytree(folder / "data" / "fr", folder / "data" / "de")
    with pytest.raises(FolderError, match="data/de: no config named 'de'"):
        validate_folder(folder)


def test_unreferenced_data_file(folder):
    card = folder / "README.md"
    card.write_text(
        card.read_text()
        .replace("data/*/validation-*.parquet", "data/fr/validation-*.parquet")
        .replace("path: data/ja/validation-*.parquet", "path: data/ja/test-*.parquet")
    )
    with pytest.raises(
        FolderError, match="data/ja/validation-00000-of-00001.parquet: not referenced by any config"
    ):
        validate_folder(folder)


def test_missing_shard(tmp_path):
    folder = make_build_folder(tmp_path / "moud", langs=("fr",), shards={("fr", "train"): 3})
    (folder / "data" / "fr" / "train-00001-of-00003.parquet").unlink()
    with pytest.raises(FolderError, match=r"train shard\(s\) \[1\] of 3 are missing"):
        validate_folder(folder)


def test_corrupt_parquet_named(folder):
    bad = folder / "data" / "ja" / "validation-00000-of-00001.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(FolderError, match="validation-00000-of-00001.parquet: not a readable Parquet file"):
        validate_folder(folder)


def test_schema_mismatch_within_config(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"id": ["x"], "other": [1]}), folder / "data" / "th" / "test-00000-of-00001.parquet"
    )
    with pytest.raises(FolderError, match="schema differs"):
        validate_folder(folder)


def test_marker_size_mismatch(folder):
    path = "data/fr/train-00000-of-00001.parquet"
    (folder / "moud_build.json").write_text(json.dumps({"files": {path: {"size": 1}}}))
    with pytest.raises(FolderError, match="edited after the build"):
        validate_folder(folder)


def test_marker_sha256_checked(folder):
    path = "data/fr/train-00000-of-00001.parquet"
    local = LocalFile(path, folder / path, (folder / path).stat().st_size)
    (folder / "moud_build.json").write_text(
        json.dumps({"files": {path: {"size": local.size, "sha256": local.sha256}}})
    )
    validate_folder(folder, load_check=False)
    (folder / "moud_build.json").write_text(json.dumps({"files": {path: {"sha256": "0" * 64}}}))
    with pytest.raises(FolderError, match="sha256 differs"):
        validate_folder(folder, load_check=False)


def test_not_a_folder(tmp_path):
    with pytest.raises(FolderError, match="not a folder"):
        validate_folder(tmp_path / "nope")


def test_local_file_hashes(tmp_path):
    import hashlib

    p = tmp_path / "x.bin"
    p.write_bytes(b"hello\n")
    f = LocalFile("x.bin", p, 6)
    assert f.sha256 == hashlib.sha256(b"hello\n").hexdigest()
    assert f.git_sha1 == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object` of "hello\n"


@pytest.mark.parametrize(
    "repo_id",
    [
        "moud",
        "org/",
        "/moud",
        "org/mo ud",
        "org/moud/x",
        "org/..moud",
        "org/mo--ud",
        "-org/moud",
        "org/moud.git",
        "",
    ],
)
def test_invalid_repo_ids(repo_id):
    with pytest.raises(MoudError, match="invalid repo id"):
        validate_repo_id(repo_id)


def test_valid_repo_id():
    assert validate_repo_id("my-org/moud_v1.0") == ("my-org", "moud_v1.0")


def test_plan_batches_limits():
    files = [LocalFile(f"f{i}", Path("/dev/null"), size) for i, size in enumerate([5, 5, 5, 20, 1, 1, 1])]
    batches = plan_batches(files, max_files=3, max_bytes=12)
    assert [[f.path for f in b] for b in batches] == [["f0", "f1"], ["f2"], ["f3"], ["f4", "f5", "f6"]]
    assert plan_batches([], 3, 10) == []


class _Resp:
    def __init__(self, status):
        self.status_code = status


class _HTTPError(Exception):
    def __init__(self, status):
        super().__init__(f"status {status}")
        self.response = _Resp(status)


def test_retry_transient_then_success():
    policy = RetryPolicy(attempts=4, base_delay_s=1.0, max_delay_s=3.0)
    outcomes = [_HTTPError(503), ConnectionResetError("reset"), "ok"]
    waits, logs = [], []

    def fn():
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retries(fn, policy, "step", log=logs.append, sleep=waits.append) == "ok"
    assert waits == [1.0, 2.0] and len(logs) == 2 and "HTTP 503" in logs[0]


def test_retry_gives_up_and_skips_client_errors():
    policy = RetryPolicy(attempts=3, base_delay_s=1.0, max_delay_s=1.5)
    waits = []
    with pytest.raises(_HTTPError):
        call_with_retries(lambda: (_ for _ in ()).throw(_HTTPError(500)), policy, "s", sleep=waits.append)
    assert waits == [1.0, 1.5]
    waits.clear()
    with pytest.raises(_HTTPError):
        call_with_retries(lambda: (_ for _ in ()).throw(_HTTPError(401)), policy, "s", sleep=waits.append)
    assert waits == []
    assert not is_transient(ValueError("bad"), policy)


def test_upload_settings_are_typed_and_checked(tmp_path):
    from hub_upload.settings import SETTINGS_PATH, load_settings
    from moud_core.errors import ConfigError

    settings = load_settings()
    assert settings.commit.max_files == 100 and settings.retry.status_codes == (408, 429, 500, 502, 503, 504)
    assert RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0).status_codes == settings.retry.status_codes
    bad = tmp_path / "settings.yaml"
    bad.write_text(SETTINGS_PATH.read_text(encoding="utf-8").replace("attempts: 5", "attempts: 0"))
    with pytest.raises(
        ConfigError, match=r"settings.yaml: field 'retry.attempts': expected an integer >= 1, got 0"
    ):
        load_settings(bad)
    bad.write_text(SETTINGS_PATH.read_text(encoding="utf-8").replace("max_files:", "max_filez:"))
    with pytest.raises(ConfigError, match=r"settings.yaml: unknown field 'commit.max_filez'"):
        load_settings(bad)
