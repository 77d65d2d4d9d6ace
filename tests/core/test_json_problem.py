"""Invalid-JSON messages read "invalid JSON at column 21 (Unterminated string)", never "starting at at", in
every reader that reports one (moud_core.jsonl.json_problem; iter_jsonl itself: tests/core/test_jsonl.py)."""

from __future__ import annotations

import pytest

from moud_core.errors import MoudError

BROKEN = '{"id": "x", "text": "no end'  # unterminated string: json's message ends in "at"


def _build_scan(path):
    from moud_core.splits import DEFAULT_RATIOS
    from moud_dataset.shards import scan_language

    raise MoudError("; ".join(scan_language("fr", [path], 0, DEFAULT_RATIOS).errors))


def _upload_marker(path):
    from hub_upload.folder import _check_marker
    from hub_upload.local_files import LocalFile

    _check_marker(LocalFile(path.name, path, path.stat().st_size), {})


def _readers():
    """reader name -> (file name, function reading that file)."""
    from baselines.readers import iter_xpersona
    from eval.report import judge_manifests
    from generation.prompts import load_demonstrations
    from moud_core.jsonl import iter_jsonl, read_json
    from moud_core.runfolder import read_manifest

    return {
        "jsonl": ("rows.jsonl", lambda p: list(iter_jsonl(p))),
        "json": ("any.json", read_json),
        "xpersona": ("Fr_persona_split_valid_human_annotated.json", lambda p: list(iter_xpersona(p))),
        "demos": ("demos.json", lambda p: load_demonstrations(str(p))),
        "run manifest": ("manifest.json", read_manifest),
        "judge manifest": (
            "judge_manifest.json",
            lambda p: judge_manifests([p.with_name("judgments.jsonl")]),
        ),
        "build": ("shard-00000.jsonl", _build_scan),
        "upload": (".moud_build.json", _upload_marker),
    }


@pytest.mark.parametrize("reader", list(_readers()))
def test_every_reader_says_where_without_at_at(tmp_path, reader):
    name, read = _readers()[reader]
    path = tmp_path / name
    path.write_text(BROKEN, encoding="utf-8")
    (tmp_path / "judgments.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(MoudError) as info:
        read(path)
    message = str(info.value)
    assert f"{path}:1: invalid JSON at column 21 (Unterminated string)" in message and "at at" not in message


def test_a_line_cut_off_says_where_it_stops_not_column_1_of_the_next(tmp_path):
    """A file truncated mid-line (issue #24): the message says where the line stops, never "column 1"."""
    import json

    from moud_core.jsonl import iter_jsonl, json_problem

    row = json.dumps({"id": "fr-0000001", "common_ground": "x" * 5_000, "turns": []})
    path = tmp_path / "shard-00000.jsonl"
    path.write_text(row + "\n" + row[:3_201] + "\n", encoding="utf-8")
    with pytest.raises(MoudError) as info:
        list(iter_jsonl(path))
    message = str(info.value)
    assert message.startswith(f"{path}:2: invalid JSON at column 3202 (")
    assert "cut off after 3,201 characters (no closing brace), as when a file is truncated" in message
    assert "column 1 " not in message
    try:
        json.loads('{"a": 1,, "b": 2}')
    except json.JSONDecodeError as exc:
        assert (
            json_problem(exc)
            == "invalid JSON at column 9 (Expecting property name enclosed in double quotes)"
        )
