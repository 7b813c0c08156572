"""Transform benchmark: cold renders and warm variant hits of a real ``imgpro serve``.

    python bench/transform.py [--quick] [--json bench/results/transform.json]

What it does
- Makes the test images (realistic JPEG texture from the shared corpus, upscaled with grain):
  a 12 MP and a 24 MP photo, a 1600x1200 RGBA PNG, and a 2 MP photo.
- Starts ``python -m imgpro.cli serve`` (uvicorn, 127.0.0.1 only, one process, default render
  pool = one thread per core) on a temporary data directory, creates an account and key with
  the CLI and uploads the images through the API.
- **Cold** (renders/s, p50/p95 at concurrency 2): every request asks for a variant that does not
  exist yet — request *i* carries ``q=<30+i>``, a parameter that changes the encode, so nothing
  is a no-op or a cache hit. The run checks afterwards that exactly one new variant was stored
  per request.
- **Floor**: the same libvips work (shrink-on-load thumbnail to the same size, the same encoder
  with the same settings and the same q sequence) as a bare in-process pyvips loop on two
  threads, without HTTP, database, planning or storing the variant. cold/floor is the ratio.
  Cold and floor are interleaved in rounds (cold first, then floor first, ...) so that load from
  anything else on the machine falls on both alike; rates are totals over all rounds.
- **Warm** (req/s at concurrency 32): one already rendered variant (the 12 MP photo at
  ``size=m&format=webp``, ~40 KB) requested over and over by a small keep-alive asyncio HTTP/1.1
  client (httpx itself would be the bottleneck at these rates).
- **Peak RSS** of the server process, sampled every 20 ms during the whole run.

Results: a table on stdout and JSON in bench/results/transform.json. This benchmark may import
pyvips directly (the "only imaging/vips.py imports pyvips" rule is for src/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pyvips

ROOT = Path(__file__).resolve().parents[1]
CORPUS_PHOTO = ROOT / "tests" / "fixtures" / "images" / "Landscape_1.jpg"  # 1800x1200 photo
RESULTS = ROOT / "bench" / "results" / "transform.json"
MB = 1024 * 1024
KEEP_NONE = pyvips.enums.ForeignKeep.NONE


# --- images ----------------------------------------------------------------------------------
def _photo(width: int, height: int) -> pyvips.Image:
    """A real photo scaled to width x height with sensor-like grain (so the JPEG is as costly
    to decode as a camera file, not a smooth upscale)."""
    base = pyvips.Image.new_from_file(str(CORPUS_PHOTO))
    im = base.resize(width / base.width, vscale=height / base.height)
    grain = pyvips.Image.gaussnoise(width, height, sigma=6)
    return (im + grain).cast("uchar").copy(interpretation="srgb")


def make_images(directory: Path) -> dict[str, Path]:
    paths = {
        "photo12": directory / "photo12.jpg",
        "photo24": directory / "photo24.jpg",
        "rgba": directory / "rgba.png",
        "photo2": directory / "photo2.jpg",
    }
    _photo(4000, 3000).jpegsave(str(paths["photo12"]), Q=90)
    _photo(6000, 4000).jpegsave(str(paths["photo24"]), Q=90)
    rgb = _photo(1600, 1200)
    x = pyvips.Image.xyz(1600, 1200)[0]
    alpha = (x < 800).ifthenelse(255, 255 - (x - 800) * (255 / 800)).cast("uchar")
    rgb.bandjoin(alpha).pngsave(str(paths["rgba"]), compression=6)
    shutil.copyfile(CORPUS_PHOTO, paths["photo2"])  # 1800x1200 = 2.16 MP
    return paths


# --- the cases -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    key: str
    label: str
    image: str
    query: str  # without q
    requests: int
    floor: Callable[[Path, int], bytes]


def _thumb(path: Path, width: int, height: int) -> pyvips.Image:
    return pyvips.Image.thumbnail(str(path), width, height=height, size="force")


def floor_medium_webp(path: Path, q: int) -> bytes:  # 4000x3000, short side 640 -> 853x640
    return bytes(_thumb(path, 853, 640).webpsave_buffer(Q=q, effort=4, keep=KEEP_NONE))


def floor_w500_jpeg(path: Path, q: int) -> bytes:  # 6000x4000 -> 500x333
    return bytes(_thumb(path, 500, 333).jpegsave_buffer(Q=q, optimize_coding=True, keep=KEEP_NONE))


def floor_png_webp(path: Path, q: int) -> bytes:  # same size, RGBA kept
    im = pyvips.Image.new_from_file(str(path), access="sequential")
    return bytes(im.webpsave_buffer(Q=q, effort=4, keep=KEEP_NONE))


def floor_avif(path: Path, q: int) -> bytes:  # 1800x1200, AV1 at the server's effort
    im = pyvips.Image.new_from_file(str(path), access="sequential")
    return bytes(im.heifsave_buffer(compression="av1", Q=q, effort=3, keep=KEEP_NONE))


def cases(quick: bool) -> list[Case]:
    n = (lambda full: max(4, full // 3)) if quick else (lambda full: full)
    return [
        Case(
            "a",
            "12 MP photo -> size=m&format=webp",
            "photo12",
            "size=m&format=webp",
            n(40),
            floor_medium_webp,
        ),
        Case("b", "24 MP photo -> w=500 JPEG", "photo24", "w=500", n(40), floor_w500_jpeg),
        Case("c", "RGBA PNG 1600x1200 -> WebP", "rgba", "format=webp", n(30), floor_png_webp),
        Case("d", "2 MP photo -> AVIF", "photo2", "format=avif", n(16), floor_avif),
    ]


def q_values(count: int) -> list[int]:
    return [30 + i for i in range(count)]  # distinct: every request is a new variant


# --- measuring -------------------------------------------------------------------------------
@dataclass
class Run:
    count: int
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    def summary(self) -> dict[str, float]:
        return {
            "per_second": round(self.rate, 2),
            "p50_ms": round(self.pct(50), 1),
            "p95_ms": round(self.pct(95), 1),
            "count": self.count,
            "seconds": round(self.seconds, 3),
        }


def run_floor(case: Case, path: Path, qs: Sequence[int], concurrency: int = 2) -> Run:
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)  # as the server: one libvips thread per render
    latencies: list[float] = []

    def one(q: int) -> None:
        started = time.perf_counter()
        case.floor(path, q)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, qs))
    return Run(len(qs), time.perf_counter() - started, latencies)


async def run_cold(
    client: httpx.AsyncClient, url: str, case: Case, qs: Sequence[int], concurrency: int = 2
) -> Run:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for q in qs:
        queue.put_nowait(q)
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            q = queue.get_nowait()
            started = time.perf_counter()
            r = await client.get(f"{url}?{case.query}&q={q}")
            r.raise_for_status()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(len(qs), time.perf_counter() - started, latencies)


def combine(runs: Sequence[Run]) -> Run:
    return Run(
        sum(r.count for r in runs),
        sum(r.seconds for r in runs),
        [lat for r in runs for lat in r.latencies],
    )


async def compare(
    client: httpx.AsyncClient, url: str, case: Case, path: Path, rounds: int = 4
) -> tuple[Run, Run]:
    """Cold and floor in alternating rounds over the same q sequence."""
    (await client.get(f"{url}?{case.query}&q=99")).raise_for_status()  # warm-up render
    await asyncio.to_thread(case.floor, path, 99)  # and the same for the floor
    qs = q_values(case.requests)
    chunks = [qs[i::rounds] for i in range(rounds)]
    colds: list[Run] = []
    floors: list[Run] = []
    for i, chunk in enumerate(chunks):
        if i % 2 == 0:
            colds.append(await run_cold(client, url, case, chunk))
            floors.append(await asyncio.to_thread(run_floor, case, path, chunk))
        else:
            floors.append(await asyncio.to_thread(run_floor, case, path, chunk))
            colds.append(await run_cold(client, url, case, chunk))
    return combine(colds), combine(floors)


async def run_warm(
    host: str, port: int, path: str, *, concurrency: int, seconds: float
) -> tuple[Run, int]:
    """Keep-alive HTTP/1.1 GETs of one URL; returns the run and the body size."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: image/webp,*/*\r\n\r\n"
    ).encode()
    length_re = re.compile(rb"content-length:\s*(\d+)", re.I)
    latencies: list[float] = []
    sizes: set[int] = set()
    deadline = 0.0

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head[:200].decode(errors="replace"))
                match = length_re.search(head)
                assert match is not None
                body = await reader.readexactly(int(match[1]))
                sizes.add(len(body))
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    deadline = time.perf_counter() + 0.5  # warm-up: connections, caches
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.clear()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(len(latencies), time.perf_counter() - started, list(latencies)), max(sizes)


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.02)


# --- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "imgpro.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "imgpro.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def count_variants(data_dir: Path) -> int:
    root = data_dir / "blobs" / "variants"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


# --- main ------------------------------------------------------------------------------------
def table(rows: Sequence[dict[str, Any]], warm: dict[str, Any], rss_mb: float) -> str:
    lines = [
        f"{'case':38} {'cold r/s':>9} {'p50 ms':>8} {'p95 ms':>8} | {'floor r/s':>9} "
        f"{'p50 ms':>8} {'p95 ms':>8} | {'cold/floor':>10}",
        "-" * 112,
    ]
    for row in rows:
        c, f = row["cold"], row["floor"]
        lines.append(
            f"({row['key']}) {row['label']:34} {c['per_second']:9.2f} {c['p50_ms']:8.1f} "
            f"{c['p95_ms']:8.1f} | {f['per_second']:9.2f} {f['p50_ms']:8.1f} "
            f"{f['p95_ms']:8.1f} | {row['ratio']:9.2f}x"
        )
    lines += [
        "-" * 112,
        f"warm hits ({warm['variant']}, {warm['bytes']} B, concurrency {warm['concurrency']}): "
        f"{warm['per_second']:.0f} req/s, p50 {warm['p50_ms']:.1f} ms, p95 {warm['p95_ms']:.1f} ms",
        f"peak server RSS: {rss_mb:.0f} MB",
    ]
    return "\n".join(lines)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="imgpro-bench-"))
    data_dir = work / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "IMGPRO_DATA_DIR": str(data_dir),
        "IMGPRO_PUBLIC_BASE_URL": base,
        "IMGPRO_SECRET_KEY": "bench-secret",
        "IMGPRO_HOST": "127.0.0.1",
    }
    print(f"images -> {work}", flush=True)
    images = make_images(work)
    server = start_server(env, port, work / "server.log")
    sampler = RssSampler(server.pid)
    sampler.start()
    try:
        cli(env, "migrate")  # maintenance commands open an existing store only
        cli(
            env,
            "users",
            "create",
            "bench@example.com",
            "--password",
            "bench password 1",
            "--plan",
            "unlimited",
        )
        key = cli(env, "keys", "create", "bench@example.com", "--name", "bench")
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(timeout=120) as client:
            urls = {}
            for name, path in images.items():
                with path.open("rb") as f:
                    r = await client.post(
                        f"{base}/v1/images", headers=headers, files={"file": (path.name, f)}
                    )
                r.raise_for_status()
                urls[name] = r.json()["url"]
            rows = []
            for case in cases(args.quick):
                before = count_variants(data_dir)
                cold, floor = await compare(client, urls[case.image], case, images[case.image])
                stored = count_variants(data_dir) - before
                assert stored == case.requests + 1, (stored, case.requests)  # all were cold
                rows.append(
                    {
                        "key": case.key,
                        "label": case.label,
                        "query": case.query,
                        "cold": cold.summary(),
                        "floor": floor.summary(),
                        "ratio": round(cold.rate / floor.rate, 3),
                    }
                )
                print(f"  ({case.key}) cold {cold.rate:.2f}/s floor {floor.rate:.2f}/s", flush=True)
            warm_url = f"{urls['photo12']}?size=m&format=webp"
            (await client.get(warm_url)).raise_for_status()
        path = warm_url.removeprefix(base)
        warm_run, size = await run_warm(
            "127.0.0.1", port, path, concurrency=32, seconds=args.warm_seconds
        )
        warm = {
            "variant": "photo12 size=m&format=webp",
            "bytes": size,
            "concurrency": 32,
            **warm_run.summary(),
        }
    finally:
        sampler.stop.set()
        sampler.join()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    rss_mb = sampler.peak / MB
    print()
    print(table(rows, warm, rss_mb))
    return {
        "benchmark": "transform",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "libvips": f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
            "load_average_at_start": args.load,
        },
        "method": {
            "cold": "concurrency 2; request i asks for q=30+i (never cached); each "
            "stored exactly one new variant",
            "floor": "same thumbnail/encoder/settings/q sequence, bare pyvips, 2 threads",
            "interleaving": "4 rounds per case alternating cold and floor; totals",
            "warm": "one cached variant, keep-alive HTTP/1.1, concurrency 32",
        },
        "cases": rows,
        "warm": warm,
        "peak_server_rss_mb": round(rss_mb, 1),
        "quick": args.quick,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests per case")
    parser.add_argument("--warm-seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    args.load = [round(v, 2) for v in os.getloadavg()]
    if args.load[0] > (os.cpu_count() or 1):
        print(
            f"warning: load average {args.load[0]} — other work is running; numbers will be noisy",
            file=sys.stderr,
        )
    try:
        import uvloop

        result = uvloop.run(bench(args))
    except ImportError:  # pragma: no cover
        result = asyncio.run(bench(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json}")


if __name__ == "__main__":
    main()
