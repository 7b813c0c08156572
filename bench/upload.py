"""Upload benchmark (a script, not a test): uploads/s and server RSS for real uploads.

    python bench/upload.py [--quick]

Starts a real `imgpro serve` process on a loopback port with a temporary data directory
(SQLite + local blobs, the embedded default), creates an account and key through the CLI, then:

- uploads 1 MB and 20 MB JPEGs at concurrency 1 and 8 and reports uploads/s, p50/p95 latency
  and the server's peak RSS;
- uploads one ~70 MB file and reports how much the server's RSS grew while receiving it
  (target: under 30 MB — the body is streamed to disk, never held in memory).

Results are printed as a table and written to bench/results/upload.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
import pyvips

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def noisy_jpeg(target_bytes: int) -> bytes:
    """A real JPEG of roughly ``target_bytes``: noise compresses badly, so size tracks pixels."""
    side = 512
    while True:
        noise = pyvips.Image.gaussnoise(side, side, sigma=60, mean=128).cast("uchar")
        image = noise.bandjoin([noise.rot90(), noise.rot180()]).copy(interpretation="srgb")
        data = image.jpegsave_buffer(Q=95)
        if len(data) >= target_bytes * 0.9:
            return data
        side = int(side * (target_bytes / len(data)) ** 0.5 * 1.05) + 16


def padded_jpeg(total_bytes: int) -> bytes:
    """A valid JPEG followed by trailing bytes (ignored by decoders) up to ``total_bytes``."""
    base = noisy_jpeg(min(total_bytes, 20 * MB))
    return base + b"\0" * (total_bytes - len(base))


class RssSampler:
    """Samples a process tree's RSS every few milliseconds in a background thread."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "imgpro.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


async def upload_many(base: str, key: str, data: bytes, count: int, concurrency: int) -> dict:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            r = await client.post(
                f"{base}/v1/images",
                headers={"Authorization": f"Bearer {key}"},
                files={"file": ("bench.jpg", data, "image/jpeg")},
            )
            if r.status_code != 201:
                raise RuntimeError(f"upload failed: {r.status_code} {r.text[:200]}")
            latencies.append(time.perf_counter() - t)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "uploads": count,
        "seconds": round(elapsed, 3),
        "uploads_per_s": round(count / elapsed, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
    }


def stream_file(base: str, key: str, path: Path) -> int:
    """Upload a file from disk with a streamed multipart body (the client holds little)."""
    with path.open("rb") as f, httpx.Client(timeout=600) as client:
        r = client.post(
            f"{base}/v1/images",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": (path.name, f, "image/jpeg")},
        )
    if r.status_code != 201:
        raise RuntimeError(f"large upload failed: {r.status_code} {r.text[:200]}")
    return int(r.json()["bytes"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer uploads (smoke run)")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0

    with tempfile.TemporaryDirectory(prefix="imgpro-bench-") as tmp:
        port = free_port()
        env = {
            **os.environ,
            "IMGPRO_DATA_DIR": f"{tmp}/data",
            "IMGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
        cli(env, "migrate")  # maintenance commands open an existing store only
        cli(
            env,
            "users",
            "create",
            "bench@example.com",
            "--password",
            "bench-password",
            "--plan",
            "unlimited",
        )
        key = cli(env, "keys", "create", "bench@example.com", "--name", "bench")
        server = subprocess.Popen(
            [sys.executable, "-m", "imgpro.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 30
            while True:
                try:
                    httpx.get(f"{base}/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)

            print("making test files …", flush=True)
            one_mb = noisy_jpeg(1 * MB)
            twenty_mb = noisy_jpeg(20 * MB)
            big = Path(tmp) / "seventy.jpg"
            big.write_bytes(padded_jpeg(70 * MB - 64 * 1024))

            rows = []
            for label, data, count in [("1 MB", one_mb, 40), ("20 MB", twenty_mb, 8)]:
                for concurrency in (1, 8):
                    n = max(concurrency, int(count * scale))
                    with RssSampler(server.pid) as rss:
                        before = rss.rss()
                        result = asyncio.run(upload_many(base, key, data, n, concurrency))
                    result.update(
                        file=label,
                        file_bytes=len(data),
                        concurrency=concurrency,
                        rss_before_mb=round(before / MB, 1),
                        peak_rss_mb=round(rss.peak / MB, 1),
                    )
                    rows.append(result)
                    print(
                        f"{label:>6} c={concurrency}: {result['uploads_per_s']:>7} uploads/s  "
                        f"p50 {result['p50_ms']:>7} ms  p95 {result['p95_ms']:>7} ms  "
                        f"peak RSS {result['peak_rss_mb']} MB",
                        flush=True,
                    )

            with RssSampler(server.pid) as rss:
                before = rss.rss()
                t = time.perf_counter()
                size = stream_file(base, key, big)
                seconds = time.perf_counter() - t
            growth = (rss.peak - before) / MB
            big_row = {
                "file_bytes": size,
                "seconds": round(seconds, 2),
                "rss_before_mb": round(before / MB, 1),
                "peak_rss_mb": round(rss.peak / MB, 1),
                "rss_growth_mb": round(growth, 1),
                "target_growth_mb": 30,
                "met": growth < 30,
            }
            print(
                f" 70 MB stream: {seconds:.2f} s, RSS {before / MB:.1f} → peak "
                f"{rss.peak / MB:.1f} MB (growth {growth:.1f} MB, target < 30 MB)"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

    out = ROOT / "bench" / "results" / "upload.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")},
                "uploads": rows,
                "stream_70mb": big_row,
            },
            indent=2,
        )
    )
    print(f"results: {out}")
    return 0 if big_row["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
