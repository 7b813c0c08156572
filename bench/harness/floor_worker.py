"""The floor: bare pyvips (thumbnail + save) in one process, no HTTP, no database.

``threads`` closed-loop clients submit renders to a pool of one thread per core (as a server
with a bounded render pool would); a request's latency runs from submit to done, queueing
included.

    python -m bench.harness.floor_worker '{"image": …, "op": …, "count": …, "seconds": …,
                                           "threads": …, "first_out": …}'

libvips is set up as imgpro sets it up (operation cache off, one libvips thread per render), so
the gap to imgpro is imgpro's own overhead. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyvips

from bench.harness.images import ALL
from bench.harness.ops import OPS, floor_render


def main() -> None:
    spec = json.loads(sys.argv[1])
    img = next(i for i in ALL.values() if i.name == spec["image"])
    op = OPS[spec["op"]]
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    lock = threading.Lock()
    state = {"next": 0, "bytes": 0}
    latencies: list[float] = []
    deadline = time.perf_counter() + spec["seconds"]
    pool = ThreadPoolExecutor(os.cpu_count() or 1)

    def worker() -> None:
        while True:
            with lock:
                i = state["next"]
                if i >= spec["count"] or time.perf_counter() >= deadline:
                    return
                state["next"] += 1
            t = time.perf_counter()
            data = pool.submit(floor_render, img, op, op.target(i, spec.get("run", 0))).result()
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed)
                state["bytes"] += len(data)
            if i == 0:
                Path(spec["first_out"]).write_bytes(data)

    floor_render(img, op, op.warmup)  # warm-up, as every server gets one (untimed)
    threads = [threading.Thread(target=worker) for _ in range(spec["threads"])]
    start = time.perf_counter()
    cpu0 = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "latencies": latencies,
                "seconds": seconds,
                "bytes": state["bytes"],
                "requests": state["next"],
                "cpu_seconds": time.process_time() - cpu0,
            }
        )
    )


if __name__ == "__main__":
    main()
