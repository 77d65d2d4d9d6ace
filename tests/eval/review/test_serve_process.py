"""`moud review serve` as a real process: killed mid-work and restarted loses nothing; SIGTERM/SIGINT stop it
cleanly; tokens never reach its output; one server per folder; private files; a link raters can open."""

from __future__ import annotations

import os
import signal
import socket
import stat

from eval.review.store import Store
from tests.eval.review.helpers import Client, ServeProcess, free_port, make_review


def test_kill_restart_loses_nothing_and_signals_exit_cleanly(tmp_path):
    folder, tokens = make_review(tmp_path, languages=("fr",), per_language=6, raters=2)
    log = tmp_path / "serve.log"
    server = ServeProcess(folder, free_port(), log).start()
    try:
        a = Client(server.url, tokens["fr-r1"]).login()
        queue = [a.item(i)[1]["item"]["item_id"] for i in range(6)]
        for n, item in enumerate(queue[:3]):
            assert a.rate(item, "fluency", n + 2)[0] == 200
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL  # no clean shutdown at all
        server.start()
        assert a.rate(queue[3], "fluency", 5)[0] == 200  # the same session still works
        assert [a.item(i)[1]["scores"] for i in range(4)] == [
            {"fluency": 2},
            {"fluency": 3},
            {"fluency": 4},
            {"fluency": 5},
        ]
        assert server.stop(signal.SIGTERM) == 143
        server.start()
        assert server.stop(signal.SIGINT) == 130
    finally:
        server.stop(signal.SIGKILL)
    store = Store(folder / "ratings.sqlite")
    assert len(store.all_ratings()) == 4
    store.close()
    output = log.read_text(encoding="utf-8")
    assert "serving 6 item(s) to 2 rater(s) on http://127.0.0.1:" in output
    assert not any(t in output for t in tokens.values()) and "GET /api" not in output  # no access log


def test_port_in_use_is_one_line_exit_2(tmp_path, capsys):
    import moud_cli

    folder, _ = make_review(tmp_path, languages=("fr",), per_language=3, raters=2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert moud_cli.main(["review", "serve", str(folder), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot listen on 127.0.0.1:{port}" in err


def test_second_serve_on_a_folder_is_refused_and_the_ratings_are_private(tmp_path, capsys):
    import moud_cli

    folder, tokens = make_review(tmp_path, languages=("fr",), per_language=3, raters=2)
    old = os.umask(0o002)  # a permissive umask: the files must be private anyway
    try:
        server = ServeProcess(folder, free_port(), tmp_path / "serve.log").start()
    finally:
        os.umask(old)
    try:
        assert moud_cli.main(["review", "serve", str(folder), "--port", "0", "--max-seconds", "5"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f"already served by another `moud review serve` (pid {server.proc.pid})" in err
        a = Client(server.url, tokens["fr-r1"]).login()
        assert a.rate(a.item(0)[1]["item"]["item_id"], "fluency", 4)[0] == 200
        for name in (
            "ratings.sqlite",
            "ratings.sqlite-wal",
            "ratings.sqlite-shm",
            "serve.lock",
            "tokens.tsv",
        ):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    finally:
        server.stop(signal.SIGKILL)  # the lock dies with the process, however it ends
    server.start()
    assert server.stop() == 143


def test_wildcard_host_prints_a_link_a_rater_elsewhere_can_open(tmp_path, capsys):
    import moud_cli

    folder, _ = make_review(tmp_path, languages=("fr",), per_language=3, raters=2)
    args = ["review", "serve", str(folder), "--host", "0.0.0.0", "--port", "0", "--max-seconds", "0.2"]
    assert moud_cli.main(args) == 0
    link = capsys.readouterr().err.split("each rater opens ", 1)[1].split(" with their token")[0]
    assert link.startswith(f"http://{socket.gethostname()}:") and "0.0.0.0" not in link
