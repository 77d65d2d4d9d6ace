"""hub_upload against a stand-in Hub on 127.0.0.1 (real HTTP through huggingface_hub, no Xet)."""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import pytest

from hub_upload import upload_dataset
from hub_upload.retry import RetryPolicy
from moud_core.errors import MoudError
from tests.hub_upload.helpers import StandInHub, folder_bytes, make_build_folder

TOKEN = "hf_StandInToken0123456789abcdefXYZ"
USERS = {
    TOKEN: {"name": "alice", "orgs": ["moud-org"]},
    "hf_BobToken9876543210": {"name": "bob", "orgs": []},
    "hf_ReadOnlyToken000000": {"name": "carol", "orgs": [], "role": "read"},
}
REPO = "moud-org/moud"
FAST = RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.02)


@pytest.fixture(autouse=True)
def hub_env(monkeypatch, tmp_path):
    """Online for huggingface_hub (conftest sets offline), no Xet, no stored login, no inherited token."""
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(c, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(c, "HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return make_build_folder(tmp_path_factory.mktemp("upload-hub") / "moud")


@pytest.fixture
def hub():
    with StandInHub(USERS, max_requests=2000, max_seconds=60) as server:
        yield server


def _upload(folder, hub, **kw):
    kw.setdefault("token", TOKEN)
    kw.setdefault("retry", FAST)
    kw.setdefault("progress", False)
    kw.setdefault("out", lambda _line: None)
    return upload_dataset(folder, kw.pop("repo", REPO), endpoint=hub.endpoint, **kw)


def _commit_requests(hub):
    return [r for r in hub.requests if r["method"] == "POST" and "/commit/" in r["path"]]


def test_upload_byte_identical_multi_commit_and_loadable(built, hub, tmp_path):
    result = _upload(built, hub, max_files_per_commit=4)
    local, remote = folder_bytes(built), hub.files(REPO)
    assert set(remote) == set(local) | {".gitattributes"}
    for path, data in local.items():
        assert remote[path] == data, path
    assert result.verified and sorted(result.sent) == sorted(local) and not result.unchanged
    commits = hub.repos[REPO].commits[1:]  # [0] is the repo's initial .gitattributes commit
    assert len(commits) == len(result.commits) == 4  # 9 parquet files in batches of 4, then the card
    assert "(part 4/4)" in commits[-1]["summary"]
    last_paths = [r for r in _commit_requests(hub)][-1]["body"].decode()
    assert '"README.md"' in last_paths and ".parquet" not in last_paths  # the card lands last
    assert sorted(hub.lfs_puts) == sorted(set(hub.lfs_puts))  # each LFS object sent once
    # What arrived forms a loadable dataset.
    import datasets

    mirror = tmp_path / "mirror"
    for path, data in remote.items():
        (mirror / path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / path).write_bytes(data)
    ds = datasets.load_dataset(str(mirror), "ja", cache_dir=str(tmp_path / "cache"))
    assert ds["train"]["id"] == [f"ja-train-0-{i}" for i in range(4)]


def test_second_upload_sends_no_content(built, hub):
    _upload(built, hub)
    before, puts = len(hub.requests), len(hub.lfs_puts)
    result = _upload(built, hub)
    after = hub.requests[before:]
    assert result.sent == [] and len(result.unchanged) == len(folder_bytes(built)) and result.verified
    assert len(hub.lfs_puts) == puts
    assert not any(
        r["method"] in ("POST", "PUT")
        and ("/commit/" in r["path"] or "/preupload/" in r["path"] or "lfs" in r["path"])
        for r in after
    )
    assert sum(len(r["body"]) for r in after) < 200  # only the repo-create JSON, no file content


def test_one_500_then_success(built, hub, capsys):
    hub.fail("POST", r"/commit/", 500, times=1)
    result = _upload(built, hub)
    assert result.verified and len(result.commits) == 2  # data, then the card
    assert len(_commit_requests(hub)) == 3
    captured = capsys.readouterr()
    assert "HTTP 500" in captured.err and "retrying" in captured.err
    assert sorted(hub.lfs_puts) == sorted(set(hub.lfs_puts))  # the retry did not re-send LFS content
    assert all(hub.files(REPO)[p] == d for p, d in folder_bytes(built).items())


def test_persistent_failure_reports_partial_then_resumes(built, hub, capsys):
    out = []
    hub.fail("POST", r"/commit/", 503, times=FAST.attempts, after=1)  # 1st commit ok, 2nd fails for good
    with pytest.raises(MoudError) as err:
        _upload(built, hub, max_files_per_commit=5, out=out.append)
    msg = str(err.value)
    assert "\n" not in msg and "INCOMPLETE" in msg and "arrived: 5/11" in msg and "not arrived: 6" in msg
    assert "network failure after 3 attempt" in msg
    assert not any("Uploaded" in line for line in out)  # never claims success
    assert len(hub.files(REPO)) == 1 + 5
    puts_before = list(hub.lfs_puts)
    result = _upload(built, hub, max_files_per_commit=5)  # resume
    assert len(result.unchanged) == 5 and len(result.sent) == 6 and result.verified
    assert len(hub.lfs_puts) == len(set(hub.lfs_puts)) == 9  # nothing uploaded twice across both runs
    assert set(puts_before) <= set(hub.lfs_puts)
    assert all(hub.files(REPO)[p] == d for p, d in folder_bytes(built).items())


def test_token_only_in_authorization_header(built, hub, capsys, caplog, monkeypatch):
    import moud_cli

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("huggingface_hub").setLevel(logging.DEBUG)
    try:
        assert moud_cli.main(["upload", "--folder", str(built), "--repo", REPO, "--quiet"]) == 0
    finally:
        logging.getLogger("huggingface_hub").setLevel(logging.WARNING)
    captured = capsys.readouterr()
    assert "verified" in captured.out and f'load_dataset("{REPO}", "fr")' in captured.out
    assert TOKEN not in captured.out + captured.err + caplog.text
    assert hub.requests
    for r in hub.requests:
        auth = r["headers"].get("Authorization")
        if r["path"].startswith("/lfs-upload/"):
            assert auth is None  # content goes to the storage URL without credentials
        else:
            assert auth == f"Bearer {TOKEN}"
        others = {k: v for k, v in r["headers"].items() if k.lower() != "authorization"}
        assert TOKEN not in repr(others) + r["path"] + repr(r["query"])
        assert TOKEN.encode() not in r["body"]


def test_401_clear_error(built, hub):
    with pytest.raises(MoudError, match=r"token rejected by .* \(HTTP 401\)") as err:
        _upload(built, hub, token="hf_WrongToken")
    assert "hf_WrongToken" not in str(err.value)
    assert [r["path"] for r in hub.requests] == ["/api/whoami-v2"]


def test_403_from_hub_is_clear(built, hub):
    hub.fail("POST", r"/commit/", 403, times=1)
    with pytest.raises(MoudError, match=r"denied \(HTTP 403\).*INCOMPLETE"):
        _upload(built, hub)
    assert len(_commit_requests(hub)) == 1  # client errors are not retried


def test_invalid_folder_refused_before_any_request(built, hub, tmp_path):
    folder = Path(shutil.copytree(built, tmp_path / "moud"))
    (folder / ".env").write_text(f"HF_TOKEN={TOKEN}\n")
    with pytest.raises(MoudError, match=r"\.env"):
        _upload(folder, hub)
    card = folder / "README.md"
    (folder / ".env").unlink()
    card.write_text(card.read_text().replace("data/th/", "data/xx/"))
    with pytest.raises(MoudError, match="matches no file"):
        _upload(folder, hub)
    assert hub.requests == []


def test_dry_run_sends_nothing(built, hub):
    lines = []
    result = _upload(built, hub, dry_run=True, out=lines.append)
    text = "\n".join(lines)
    assert result.dry_run and hub.requests == []
    assert "data/fr/train-00000-of-00001.parquet" in text and "total: 11 files" in text
    assert "nothing was sent" in text


def test_repo_owned_by_someone_else(built, hub):
    with pytest.raises(MoudError, match="namespace 'someone' belongs to someone else.*--create-pr"):
        _upload(built, hub, repo="someone/moud")
    assert [r["path"] for r in hub.requests] == ["/api/whoami-v2"]


def test_read_only_token(built, hub):
    with pytest.raises(MoudError, match="read-only"):
        _upload(built, hub, token="hf_ReadOnlyToken000000", repo="carol/moud")


def test_no_token(built, hub):
    with pytest.raises(MoudError, match="no Hugging Face token: set HF_TOKEN"):
        _upload(built, hub, token=None)
    assert hub.requests == []


def test_network_failure_retried_then_clear_error(built):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    waits = []
    with pytest.raises(MoudError, match="network failure after 3 attempt") as err:
        upload_dataset(
            built,
            REPO,
            token=TOKEN,
            endpoint=f"http://127.0.0.1:{port}",
            retry=FAST,
            progress=False,
            out=lambda _l: None,
            sleep=waits.append,
        )
    assert waits == [0.01, 0.02] and TOKEN not in str(err.value)


def test_offline_mode_refused(built, hub, monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    with pytest.raises(MoudError, match="offline mode"):
        _upload(built, hub)
    assert hub.requests == []


def test_stale_shards_deleted(hub, tmp_path):
    two = make_build_folder(tmp_path / "v1", langs=("fr",), shards={("fr", "train"): 2})
    _upload(two, hub)
    assert "data/fr/train-00001-of-00002.parquet" in hub.files(REPO)
    one = make_build_folder(tmp_path / "v2", langs=("fr",), rows_per_split=3)
    result = _upload(one, hub)
    assert sorted(result.deleted) == [
        "data/fr/train-00000-of-00002.parquet",
        "data/fr/train-00001-of-00002.parquet",
    ]
    assert set(hub.files(REPO)) == set(folder_bytes(one)) | {".gitattributes"}


def test_revision_branch(built, hub):
    result = _upload(built, hub, revision="v2")
    assert result.revision == "v2" and result.url.endswith("/tree/v2")
    assert set(hub.files(REPO, "v2")) == set(folder_bytes(built)) | {".gitattributes"}
    assert set(hub.files(REPO, "main")) == {".gitattributes"}


def test_create_pr_on_someone_elses_repo(built, hub):
    _upload(
        make_build_folder(Path(hub_tmp := built.parent / "alice-v0"), langs=("fr",)),
        hub,
        repo="alice/moud",
        token=TOKEN,
    )
    main_before = hub.files("alice/moud")
    result = _upload(
        built, hub, repo="alice/moud", token="hf_BobToken9876543210", create_pr=True, max_files_per_commit=4
    )
    assert result.pr_url.endswith("/discussions/1") and result.revision == "refs/pr/1"
    assert hub.files("alice/moud") == main_before
    pr = hub.files("alice/moud", "refs/pr/1")
    assert all(pr[p] == d for p, d in folder_bytes(built).items())
    resumed = _upload(built, hub, repo="alice/moud", token="hf_BobToken9876543210", revision="refs/pr/1")
    assert resumed.sent == [] and resumed.verified and hub.repos["alice/moud"].prs == 1
    shutil.rmtree(hub_tmp)


def test_private_flag_on_existing_public_repo_refused(built, hub, tmp_path):
    _upload(make_build_folder(tmp_path / "v0", langs=("fr",)), hub)
    n = len(hub.files(REPO))
    with pytest.raises(MoudError, match="already exists and is PUBLIC"):
        _upload(built, hub, private=True)
    assert len(hub.files(REPO)) == n


def test_private_repo_created_private(built, hub):
    result = _upload(built, hub, private=True)
    assert result.verified and hub.repos[REPO].private


def test_stored_login_token_used(built, hub, monkeypatch, tmp_path):
    import huggingface_hub.constants as c

    token_file = tmp_path / "login" / "token"
    token_file.parent.mkdir()
    token_file.write_text(TOKEN)
    monkeypatch.setattr(c, "HF_TOKEN_PATH", str(token_file))
    assert _upload(built, hub, token=None).verified
