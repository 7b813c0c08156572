"""Peak RSS and CPU of a real ``imgpro serve`` per hostile family (issue 12).

    python -m bench.hostile

Each family gets a fresh server (peak RSS is a high-water mark) under the same address-space
cap as the hostile suite (tests/hostile), with 2 render threads; prints one line per family:
requests, statuses seen, peak RSS of the server process and the CPU it spent.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile import families
from hostile.served import Server


def _renders(srv: Server, files: dict[str, bytes], queries: list[str], ext: str) -> Counter[int]:
    seen: Counter[int] = Counter()
    for name, data in files.items():
        r = srv.upload(name, data)
        seen[r.status_code] += 1
        url = r.json()["url"].rsplit(".", 1)[0]
        for q in queries:
            seen[srv.client.get(f"{url}.{ext}?{q}").status_code] += 1
    return seen


def _uploads(srv: Server, files: dict[str, bytes], concurrency: int = 1) -> Counter[int]:
    with ThreadPoolExecutor(concurrency) as pool:
        return Counter(r.status_code for r in pool.map(lambda kv: srv.upload(*kv), files.items()))


FAMILIES = {
    "extreme aspect x fits x gravities": lambda s: _renders(
        s, families.extreme_aspect(), [q for q, _ in families.aspect_queries()], "jpg"
    ),
    "upscale 1x1 / 3x2 to 8192": lambda s: _renders(
        s, families.upscale(), ["w=8192&fit=contain", "w=8192&h=8192&fit=cover"], "png"
    ),
    "truncated HEIC/GIF/JPEG": lambda s: _uploads(s, families.truncated()),
    "SVG <use> fan-out": lambda s: _uploads(s, {"fan.svg": families.svg_fanout()}),
    "6 concurrent 7000x7000 HEIC": lambda s: _uploads(
        s, {f"b{i}.heic": families.big_heic() for i in range(6)}, concurrency=6
    ),
}


def main() -> None:
    print(f"{'family':38s} {'statuses':24s} {'peak RSS':>9s} {'CPU':>7s} {'wall':>6s}")
    for name, run in FAMILIES.items():
        srv = Server(Path(tempfile.mkdtemp(prefix="hostile-")) / "data")
        try:
            base = srv.cost()
            started = time.monotonic()
            seen = run(srv)
            wall = time.monotonic() - started
            after = srv.cost()
            alive = srv.alive()
        finally:
            srv.stop()
        statuses = ",".join(f"{k}x{v}" for k, v in sorted(seen.items()))
        statuses += "" if alive else " DEAD"
        print(
            f"{name:38s} {statuses:24s} {after.peak_rss_mb:7.0f}MB "
            f"{after.cpu_s - base.cpu_s:6.2f}s {wall:5.1f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
