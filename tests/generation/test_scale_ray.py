"""The Ray executor on a local Ray instance: same shards as the local executor, retries of a task whose
worker died, and fatal errors surfacing as one line. Skipped when Ray is not installed."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

import moud_cli  # noqa: E402
from generation.config import load_run_config  # noqa: E402
from generation.executors.local import RunSpec  # noqa: E402
from generation.executors.ray_executor import RayExecutor, split_units  # noqa: E402
from generation.testing.crowdworker import ScriptedCrowdworker  # noqa: E402
from generation.testing.fake_openai import FakeOpenAIServer  # noqa: E402
from generation.units import plan_units  # noqa: E402
from moud_core.errors import MoudError  # noqa: E402
from tests.generation.helpers import read_rows, without_timings  # noqa: E402
from tests.generation.scale_helpers import SMALL, leftovers  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(ScriptedCrowdworker(malformed_rate=0.1), model="m", log_requests=False) as s:
        yield s


@pytest.fixture(scope="module")
def reference(tmp_path_factory, server):
    out = tmp_path_factory.mktemp("ray") / "ref"
    assert moud_cli.main(["generate", "--out", str(out), "--base-url", server.base_url, *SMALL]) == 0
    return out


def _spec(out, server) -> tuple[RunSpec, list]:
    cfg = load_run_config(
        None,
        {
            "languages": ["fr", "zh"],
            "dialogues_per_language": 6,
            "model": "m",
            "shard_size": 2,
            "backend_options": {"base_url": server.base_url},
        },
    )
    spec = RunSpec(
        config=cfg.to_dict(),
        fingerprint=cfg.fingerprint,
        out=str(out),
        languages=["fr", "zh"],
        cache_file="cache.sqlite",
    )
    return spec, plan_units(["fr", "zh"], 6, 2)


def test_split_units_is_deterministic_and_complete():
    units = plan_units(["fr", "zh"], 10, 2)
    groups = split_units(units, 3)
    assert groups == split_units(units, 3) and len(groups) == 3
    assert sorted(u for g in groups for u in g) == sorted(units)
    assert len(split_units(units[:2], 8)) == 2


def test_cli_ray_executor_matches_local(local_ray, server, reference, tmp_path):
    out = tmp_path / "run"
    assert (
        moud_cli.main(
            [
                "generate",
                "--out",
                str(out),
                "--base-url",
                server.base_url,
                *SMALL,
                "--executor",
                "ray",
                "--ray-tasks",
                "3",
            ]
        )
        == 0
    )
    assert without_timings(read_rows(out)) == without_timings(read_rows(reference))
    assert read_rows(out, "failures") == read_rows(reference, "failures")
    assert sorted(p.name for p in out.glob("cache-ray-*.sqlite")) == [
        f"cache-ray-{i:05d}-of-00003.sqlite" for i in range(3)
    ]
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["worker"]["executor"] == "ray"
    assert manifest["last_run"]["made"] == sum(len(r) for r in read_rows(out).values())


def test_a_task_whose_worker_dies_is_retried(local_ray, server, reference, tmp_path):
    out = tmp_path / "run"
    marker = tmp_path / "died-once"

    def die_once(spec, units):  # runs inside the Ray worker, at the start of each attempt
        import os

        if ("fr", 0, 0, 2) in [tuple(u) for u in units] and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker process dies as if killed

    spec, units = _spec(out, server)
    summary = RayExecutor(tasks=2, max_retries=2, progress=False, before=die_once).run(spec, units)
    assert marker.exists()  # the crash happened, and the retry completed the work
    assert without_timings(read_rows(out)) == without_timings(read_rows(reference))
    assert summary.made + summary.failed == 12 and not leftovers(out)


def test_fatal_errors_are_not_retried_and_surface_as_one_line(local_ray, server, tmp_path):
    out = tmp_path / "run"
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def disk_full(spec, units):
        import os
        import uuid

        from moud_core.errors import MoudError

        open(os.path.join(attempts, uuid.uuid4().hex), "w").close()
        raise MoudError(f"cannot write {spec['out']}/shards: No space left on device (disk full)")

    spec, units = _spec(out, server)
    with pytest.raises(MoudError, match=r"No space left on device") as info:
        RayExecutor(tasks=1, max_retries=3, progress=False, before=disk_full).run(spec, units)
    assert "\n" not in str(info.value)
    assert len(list(attempts.iterdir())) == 1  # not retried
