"""`imgpro serve`: processes per core, render threads shared out, migrations once, malloc arenas,
the access log switch."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from imgpro.cli.serve import ServeError, banner_lines, plan_server
from imgpro.cpus import available_cpus
from imgpro.settings import RateLimitSettings, RenderSettings, Settings

from . import serving


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)


def test_one_process_per_core_and_one_render_per_core_on_the_host(tmp_path):
    plan = plan_server(settings(tmp_path), None, cpus=8, environ={})
    # Every process may render on every core; the host-wide tokens keep it to 8 at once.
    assert (plan.processes, plan.render_threads, plan.host_renders) == (8, 8, 8)
    assert plan.env == {
        "IMGPRO_AUTO_MIGRATE": "false",
        "IMGPRO_RENDER__HOST_RENDERS": "8",
        "MALLOC_ARENA_MAX": "2",
    }
    plan = plan_server(settings(tmp_path), 3, cpus=8, environ={})
    assert (plan.processes, plan.render_threads, plan.host_renders) == (3, 8, 8)
    plan = plan_server(settings(tmp_path, workers=16), None, cpus=8, environ={})
    assert (plan.processes, plan.render_threads, plan.host_renders) == (16, 8, 8)


def test_what_the_operator_set_wins(tmp_path):
    configured = settings(tmp_path, workers=2, render=RenderSettings(workers=5, host_renders=6))
    plan = plan_server(configured, None, cpus=8, environ={"MALLOC_ARENA_MAX": "8"})
    assert (plan.processes, plan.render_threads, plan.host_renders) == (2, 5, 6)
    assert plan.env == {"IMGPRO_AUTO_MIGRATE": "false"}  # no render tokens, no arenas
    assert plan_server(configured, 4, cpus=8, environ={}).processes == 4  # --workers wins


def test_in_memory_backends_stay_in_one_process(tmp_path):
    memory = settings(tmp_path, storage="memory")
    assert plan_server(memory, None, cpus=8, environ={}).processes == 1
    with pytest.raises(ServeError):
        plan_server(memory, 2, cpus=8, environ={})


def test_the_banner_warns_of_per_process_rate_limits_only_when_they_are(tmp_path):
    # The default (no Redis) shares the counters through data_dir/ratelimits.db: exact per
    # host, so the banner must not tell the operator otherwise.
    shared = settings(tmp_path)
    lines = banner_lines(shared, plan_server(shared, 2, cpus=2, environ={}), "127.0.0.1")
    assert lines[0].startswith("  database: sqlite") and "processes: 2 ×" in lines[2]
    assert not any("rate limits" in line for line in lines), lines
    split = settings(tmp_path, rate_limits=RateLimitSettings(store="memory"))
    lines = banner_lines(split, plan_server(split, 2, cpus=2, environ={}), "127.0.0.1")
    assert any("counted per process" in line for line in lines), lines
    one = plan_server(split, 1, cpus=2, environ={})  # one process: nothing is split
    assert not any("rate limits" in line for line in banner_lines(split, one, "127.0.0.1"))
    redis = settings(
        tmp_path,
        redis_url="redis://127.0.0.1:6379/5",
        rate_limits=RateLimitSettings(store="memory"),
    )
    lines = banner_lines(redis, plan_server(redis, 2, cpus=2, environ={}), "0.0.0.0")
    assert not any("rate limits" in line for line in lines), lines
    assert any("every interface" in line for line in lines)


def test_cpus():
    assert 1 <= available_cpus() <= len(os.sched_getaffinity(0))


def _server_processes(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (not multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(p) for p in path.read_text().split()] if path.exists() else []
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_two_processes_share_the_work(tmp_path):
    port = serving.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IMGPRO_") and k != "MALLOC_ARENA_MAX"
    }
    env.update(
        {
            "IMGPRO_DATA_DIR": str(tmp_path / "data"),
            "IMGPRO_PUBLIC_BASE_URL": base,
            "IMGPRO_ACCESS_LOG": "true",
        }
    )
    proc = serving.start(port, env, "--workers", "2")
    try:
        r = serving.first_upload(port)
        assert r.status_code == 201, r.text
        assert httpx.get(r.json()["url"] + "?w=20").status_code == 200
        workers = _server_processes(proc.pid)
        assert len(workers) == 2
        # The supervisor is the light launcher `imgpro serve` exec'd into (same PID), with
        # the prepared environment: not the whole CLI, not Alembic.
        assert b"imgpro.cli.launch" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert _environ(proc.pid)["MALLOC_ARENA_MAX"] == "2"
        assert _rss_mb(proc.pid) < 70  # ~25 MB; the CLI that migrated was ~115 MB
        threads = str(available_cpus())
        for pid in workers:
            seen = _environ(pid)
            assert seen["MALLOC_ARENA_MAX"] == "2"
            assert seen["IMGPRO_AUTO_MIGRATE"] == "false"  # migrated once, before they started
            assert seen["IMGPRO_RENDER__HOST_RENDERS"] == threads  # the same tokens for all
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "processes: 2 ×" in out and f"× {threads} render threads" in out
    assert '"GET /i/' in out  # the access log, asked for
