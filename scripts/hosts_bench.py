#!/usr/bin/env python3
"""Throughput with 1 host and with 2 behind nginx (shared PostgreSQL, S3 = moto, Redis).

Not a timed test: a report. For each host count it uploads a few JPEGs, then for
``--seconds`` sends cold renders (every request a distinct width: a render each) at
``--concurrency`` through nginx, and prints requests/s and each host's CPU seconds (from
/proc, the host's whole process group). On one small machine the ratio mostly shows contention
(the hosts, nginx, moto, PostgreSQL and the client share the same cores): read the per-host CPU.

    sudo .venv/bin/python scripts/hosts_bench.py --seconds 15 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

PG = os.environ.get("IMGPRO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("IMGPRO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            pass
    return total


async def load(base: str, paths: list[str], seconds: float, concurrency: int) -> tuple[int, int]:
    widths = itertools.count(100)
    ok = errors = 0
    stop = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal ok, errors
        while time.monotonic() < stop:
            w = next(widths)
            reply = await client.get(f"{base}{paths[w % len(paths)]}?w={w}")
            if reply.status_code == 200:
                ok += 1
            else:
                errors += 1

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return ok, errors


def run(count: int, args: argparse.Namespace, s3: object) -> dict[str, object]:
    import imagegen
    from conftest import _admin, _async_url
    from hosts.cluster import Cluster
    from imgpro.app import run_migrations

    name = f"imgpro_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = _async_url(PG, name)
    run_migrations(url)
    cluster = Cluster(
        count,
        database_url=url,
        redis_url=REDIS,
        s3_url=s3.url,  # type: ignore[attr-defined]
        bucket=s3.new_bucket(),  # type: ignore[attr-defined]
        env={"IMGPRO_RATE_LIMITS__ANON_UPLOADS": "", "IMGPRO_RATE_LIMITS__KEY_PREFIX": name},
    )
    try:
        cluster.start()
        paths = []
        for i in range(4):
            reply = httpx.post(
                f"{cluster.url}/v1/images",
                files={"file": ("a.jpg", imagegen.jpeg(2000 + i * 8, 1500), "image/jpeg")},
                timeout=60,
            )
            reply.raise_for_status()
            paths.append(reply.json()["url"].removeprefix(cluster.url))
        pids = {h.index: h.pids() for h in cluster.hosts}
        before = {i: cpu_seconds(p) for i, p in pids.items()}
        started = time.monotonic()
        ok, errors = asyncio.run(load(cluster.url, paths, args.seconds, args.concurrency))
        elapsed = time.monotonic() - started
        cpu = {i: round(cpu_seconds(p) - before[i], 1) for i, p in pids.items()}
        return {
            "hosts": count,
            "ok": ok,
            "errors": errors,
            "req_s": round(ok / elapsed, 1),
            "host_cpu_s": cpu,
            "seconds": round(elapsed, 1),
            "namespaces": cluster.use_namespaces,
        }
    finally:
        cluster.stop()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hosts", default="1,2")
    args = parser.parse_args()
    from s3server import CREDENTIALS, MotoServer

    os.environ.update(CREDENTIALS)
    s3 = MotoServer()
    try:
        print(
            f"cores: {os.cpu_count()}  cold renders of 2000x1500 JPEGs, "
            f"concurrency {args.concurrency}, {args.seconds:.0f} s each"
        )
        for count in (int(c) for c in args.hosts.split(",")):
            print(run(count, args, s3), flush=True)
    finally:
        s3.stop()


if __name__ == "__main__":
    main()
