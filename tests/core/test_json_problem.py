"""Invalid-JSON messages read "invalid JSON at column 21 (Unterminated string)", never "starting at at", in
every reader that reports one (moud_core.jsonl.json_problem; iter_jsonl itself: tests/core/test_jsonl.py)."""

from __future__ import annotations

import pytest

from moud_core.errors import MoudError
from moud_core.jsonl import iter_jsonl

BROKEN = '{"id": "x", "text": "no end'  # unterminated string: json's message ends in "at"


def _readers(tmp_path):
    from baselines.readers import iter_xpersona
    from generation.prompts import load_demonstrations
    from moud_core.runfolder import read_manifest
    from moud_core.splits import DEFAULT_RATIOS
    from moud_dataset.shards import scan_language

    def jsonl():
        p = tmp_path / "rows.jsonl"
        p.write_text(BROKEN, encoding="utf-8")
        list(iter_jsonl(p))

    def xpersona():
        p = tmp_path / "Fr_persona_split_valid_human_annotated.json"
        p.write_text(BROKEN, encoding="utf-8")
        list(iter_xpersona(p))

    def demos():
        p = tmp_path / "demos.json"
        p.write_text(BROKEN, encoding="utf-8")
        load_demonstrations(str(p))

    def manifest():
        p = tmp_path / "manifest.json"
        p.write_text(BROKEN, encoding="utf-8")
        read_manifest(p)

    def build_scan():
        p = tmp_path / "shard-00000.jsonl"
        p.write_text(BROKEN, encoding="utf-8")
        raise MoudError("; ".join(scan_language("fr", [p], 0, DEFAULT_RATIOS).errors))

    def upload_marker():
        from hub_upload.folder import _check_marker
        from hub_upload.local_files import LocalFile

        p = tmp_path / ".moud_build.json"
        p.write_text(BROKEN, encoding="utf-8")
        _check_marker(LocalFile(p.name, p, p.stat().st_size), {})

    return {"jsonl": jsonl, "xpersona": xpersona, "demos": demos, "manifest": manifest, "build": build_scan,
            "upload": upload_marker}


@pytest.mark.parametrize("reader", ["jsonl", "xpersona", "demos", "manifest", "build", "upload"])
def test_every_reader_says_where_without_at_at(tmp_path, reader):
    with pytest.raises(MoudError) as info:
        _readers(tmp_path)[reader]()
    message = str(info.value)
    assert "invalid JSON at column 21 (Unterminated string)" in message and "at at" not in message, message
