"""Load generators: a closed-loop asyncio/httpx client (cold transforms, listing) and wrk
(cache hits, where a Python client would be the bottleneck). Loopback only; every loop is
bounded by a request count and a time budget and stops by itself."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.harness.common import WORK, LoadResult

_LOOPBACK = re.compile(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")


def _check_loopback(url: str) -> None:
    if not _LOOPBACK.match(url):
        raise ValueError(f"the harness only loads loopback addresses, not {url}")


@dataclass
class HttpRun:
    result: LoadResult
    first_body: bytes | None = None
    first_status: int | None = None
    first_headers: dict[str, str] = field(default_factory=dict)


async def _http_load(
    url_for: Callable[[int], str],
    count: int,
    seconds: float,
    concurrency: int,
    headers: dict[str, str] | None,
) -> HttpRun:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total_bytes = 0
    errors = 0
    next_i = 0
    run = HttpRun(LoadResult(0, 0, 0.0, [], 0, {}))
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_i, total_bytes, errors
        while next_i < count and time.perf_counter() < deadline:
            i = next_i
            next_i += 1
            url = url_for(i)
            t = time.perf_counter()
            try:
                r = await client.get(url, headers=headers)
                body = r.content
            except httpx.HTTPError:
                errors += 1
                statuses[0] = statuses.get(0, 0) + 1
                continue
            elapsed = time.perf_counter() - t
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code in (200, 304):
                latencies.append(elapsed)
                total_bytes += len(body)
            else:
                errors += 1
            if i == 0:
                run.first_body, run.first_status = body, r.status_code
                run.first_headers = dict(r.headers)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    run.result = LoadResult(next_i, errors, elapsed, latencies, total_bytes, statuses)
    return run


def http_load(
    url_for: Callable[[int], str],
    *,
    count: int,
    seconds: float,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> HttpRun:
    """GET ``url_for(i)`` for i = 0, 1, … with ``concurrency`` connections until ``count``
    requests were sent or ``seconds`` passed (requests in flight then are finished)."""
    _check_loopback(url_for(0))
    return asyncio.run(_http_load(url_for, count, seconds, concurrency, headers))


_WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def wrk_load(
    wrk: str,
    url: str,
    *,
    seconds: int,
    concurrency: int,
    threads: int = 2,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One wrk run (closed loop, keep-alive). Non-2xx/3xx answers count as errors."""
    _check_loopback(url)
    script = WORK / "wrk-report.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(_WRK_LUA)
    argv = [
        wrk,
        f"-t{min(threads, concurrency)}",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    proc = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("WRKJSON "):
            raw = json.loads(line[8:])
            secs = raw["duration_us"] / 1e6
            errs = (
                raw["status_errors"]
                + raw["connect_errors"]
                + raw["read_errors"]
                + raw["write_errors"]
                + raw["timeouts"]
            )
            ok = raw["requests"] - raw["status_errors"]
            return {
                "requests": raw["requests"],
                "ok": ok,
                "errors": errs,
                "seconds": round(secs, 3),
                "req_per_s": round(ok / secs, 1),
                "p50_ms": round(raw["p50_us"] / 1000, 2),
                "p95_ms": round(raw["p95_us"] / 1000, 2),
                "p99_ms": round(raw["p99_us"] / 1000, 2),
                "bytes_per_response": round(raw["bytes"] / max(raw["requests"], 1)),
                "loadgen": "wrk",
            }
    raise RuntimeError(f"wrk gave no report: {proc.stdout[-500:]} {proc.stderr[-500:]}")


def python_load_summary(
    url: str, *, seconds: int, concurrency: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The fallback when wrk is missing: the asyncio/httpx client on one repeated URL."""
    run = http_load(
        lambda i: url, count=10_000_000, seconds=seconds, concurrency=concurrency, headers=headers
    )
    return {**run.result.summary(), "loadgen": "httpx"}
