"""Every core of one host (issue 17): the default ``imgpro serve`` against the bare-pyvips floor
on cold renders, at concurrency 2 x cores and 8 x cores. A script, never a test.

    python bench/scaling.py [--workers N] [--image 2mp] [--op m-webp] [--count 120]
                            [--seconds 8] [--out bench/results/scaling.json]

Per level: req/s of imgpro and of the floor (one pyvips thread per core, fed by the same number
of closed-loop clients), their ratio, imgpro's answers by status (503s counted), and per server
process: the client connections it held mid-run (how unevenly the kernel handed them out) and
the CPU seconds it used (where the renders ran). ``--workers 8`` on 2 cores reproduces the
imbalance that a per-process render pool turned into idle cores and 503s.

Every request is a distinct variant (target size base + i, as the transforms part), and the
variant directory is emptied before each level, so every request is a cold render.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import contenders as cont
from bench.harness import images as imgs
from bench.harness.common import WORK, log
from bench.harness.load import http_load
from bench.harness.ops import OPS


def _workers(pid: int) -> list[psutil.Process]:
    return [
        c
        for c in psutil.Process(pid).children()
        if "spawn_main" in " ".join(c.cmdline()) or "imgpro" in " ".join(c.cmdline())
    ]


class ProcessWatch:
    """Per server process: peak client connections held on the server port, CPU seconds used."""

    def __init__(self, pid: int, port: int) -> None:
        self.procs = _workers(pid) or [psutil.Process(pid)]
        self.port = port
        self.cpu0 = {p.pid: sum(p.cpu_times()[:2]) for p in self.procs}
        self.peak_conns = {p.pid: 0 for p in self.procs}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            for p in self.procs:
                try:
                    n = sum(
                        1
                        for c in p.net_connections(kind="tcp")
                        if c.laddr
                        and c.laddr.port == self.port
                        and c.status == psutil.CONN_ESTABLISHED
                    )
                except psutil.Error:
                    continue
                self.peak_conns[p.pid] = max(self.peak_conns[p.pid], n)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> list[dict[str, Any]]:
        return [
            {
                "pid": p.pid,
                "peak_connections": self.peak_conns[p.pid],
                "cpu_seconds": round(sum(p.cpu_times()[:2]) - self.cpu0[p.pid], 2),
            }
            for p in self.procs
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="imgpro serve --workers (default: the default, one process per core)",
    )
    parser.add_argument("--image", default="2mp", choices=sorted(imgs.ALL))
    parser.add_argument("--op", default="m-webp", choices=sorted(OPS))
    parser.add_argument("--count", type=int, default=120, help="requests per level (cap)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per level (cap)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for imgpro serve",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "scaling.json"))
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    images = imgs.ensure()
    img, op = images[args.image], OPS[args.op]
    extra = dict(kv.split("=", 1) for kv in args.env)
    if args.workers:
        os.environ["BENCH_IMGPRO_WORKERS"] = str(args.workers)  # read by contenders.Imgpro
    imgpro = cont.Imgpro(extra_env=extra)
    result: dict[str, Any] = {
        "cores": cores,
        "workers": args.workers or "default",
        "image": img.label,
        "op": op.label,
        "env": extra,
        "levels": [],
    }
    try:
        imgpro.upload(images)
        processes = _workers(imgpro.pid)
        log(f"imgpro serve: {len(processes) or 1} processes on {cores} cores")
        for run, conc in enumerate((2 * cores, 8 * cores)):
            ref = WORK / "outputs" / "scaling" / f"floor-c{conc}.{op.fmt}"
            ref.parent.mkdir(parents=True, exist_ok=True)
            floor = cont.floor_run(
                img,
                op,
                count=args.count,
                seconds=args.seconds,
                concurrency=conc,
                first_out=ref,
                run=run,
            )
            floor_rps = len(floor["latencies"]) / floor["seconds"]
            imgpro.clear_variants()
            # The warm-up every contender gets (outside the measured sequence).
            http_load(lambda i: imgpro.url(img, op, op.warmup), count=1, seconds=60, concurrency=1)
            with ProcessWatch(imgpro.pid, imgpro.port) as watch:
                t = time.perf_counter()
                run_ = http_load(
                    lambda i, run=run: imgpro.url(img, op, op.target(i, run)),
                    count=args.count,
                    seconds=args.seconds,
                    concurrency=conc,
                )
                wall = time.perf_counter() - t
            summary = run_.result.summary()
            row = {
                "concurrency": conc,
                "floor_req_per_s": round(floor_rps, 2),
                "imgpro_req_per_s": summary["req_per_s"],
                "ratio": round(summary["req_per_s"] / floor_rps, 3) if floor_rps else None,
                "statuses": {str(k): v for k, v in run_.result.statuses.items()},
                "busy_503": run_.result.statuses.get(503, 0),
                "p50_ms": summary["p50_ms"],
                "p95_ms": summary["p95_ms"],
                "wall_s": round(wall, 2),
                "processes": watch.report(),
            }
            result["levels"].append(row)
            log(
                f"c={conc}: imgpro {row['imgpro_req_per_s']} req/s, floor "
                f"{row['floor_req_per_s']} req/s, ratio {row['ratio']}, 503: {row['busy_503']}, "
                f"statuses {row['statuses']}"
            )
            for p in row["processes"]:
                log(
                    f"    pid {p['pid']}: peak connections {p['peak_connections']:>3}, "
                    f"CPU {p['cpu_seconds']:>6} s"
                )
    finally:
        imgpro.stop()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
