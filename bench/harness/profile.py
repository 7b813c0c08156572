"""Part ``profile``: py-spy on the imgpro server during a cold run and a warm run.

Cold: 12 MP JPEG, fit 500 JPEG q80, a distinct size per request, c = 4x cores. Warm: one
cached variant repeated (wrk if installed), c = 4x cores. Listing: ``GET /v1/images?limit=100``
on 10,000 images, c = 4x cores. py-spy samples the server (non-blocking,
100 Hz, idle threads excluded; render threads waiting in libvips count, shown at the pyvips
call); the collapsed stacks are kept in bench/.work/profile-*.txt and summarised as the frames
with the most self time and the most inclusive time. Needs ``py-spy`` on PATH or in the venv
(``pip install py-spy``).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.harness import contenders as cont
from bench.harness import images as imgs
from bench.harness import install
from bench.harness.common import WORK, log, which
from bench.harness.load import http_load, python_load_summary, wrk_load
from bench.harness.ops import OPS

_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    parts = Path(m["file"]).parts
    f = "/".join(parts[-2:]) if len(parts) >= 2 else m["file"]
    for marker in ("site-packages/", "imgpro/"):
        if marker in m["file"]:
            f = m["file"].split(marker, 1)[1]
    return f"{m['fn']} ({f})"


# Where a sample's time goes: the first frame from the leaf up whose file matches decides.
_BUCKETS = (
    ("libvips (inside pyvips calls)", ("pyvips/",)),
    ("database driver + SQLAlchemy", ("aiosqlite/", "sqlalchemy/", "asyncpg/", "sqlite3/")),
    ("pydantic (response validation/serialisation)", ("pydantic/", "pydantic_core/")),
    ("logging", ("logging/",)),
    ("HTTP server (uvicorn)", ("uvicorn/", "httptools", "h11/")),
    ("framework (starlette/fastapi)", ("starlette/", "fastapi/")),
    ("imgpro", ("/imgpro/",)),  # + the short names below (py-spy prints package-relative paths)
    ("event loop (asyncio/uvloop)", ("asyncio/", "uvloop/")),
    ("thread pools (concurrent.futures/threading)", ("concurrent/futures/", "threading.py")),
)


_SRC = Path(__file__).resolve().parents[2] / "src" / "imgpro"
_IMGPRO = tuple(
    f"({p.name}/" if p.is_dir() else f"({p.name}:"
    for p in _SRC.iterdir()
    if not p.name.startswith(("_", "."))
)


def _is_imgpro(frame: str) -> bool:
    return "/imgpro/" in frame or any(m in frame for m in _IMGPRO)


def _bucket(raw_frames: list[str]) -> str:
    for frame in reversed(raw_frames):
        for name, marks in _BUCKETS:
            if any(m in frame for m in marks) or (name == "imgpro" and _is_imgpro(frame)):
                return name
    return "other"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    self_c: Counter[str] = Counter()
    incl_c: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        raw_frames = [
            f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))
        ]
        if not raw_frames:
            continue
        frames = [_short(f) for f in raw_frames]
        total += n
        self_c[frames[-1]] += n
        buckets[_bucket(raw_frames)] += n
        for f in {s for s, r in zip(frames, raw_frames, strict=True) if _is_imgpro(r)}:
            incl_c[f] += n
    pct = (lambda c: round(100 * c / total, 1)) if total else (lambda c: 0.0)
    return {
        "samples": total,
        "self": [(f, pct(c)) for f, c in self_c.most_common(top)],
        "by_package": [(b, pct(c)) for b, c in buckets.most_common()],
        "inclusive": [
            (f, pct(c))
            for f, c in incl_c.most_common(top)
            if "serve (" not in f and "main (" not in f
        ][:top],
    }


def _record(pyspy: str, pid: int, seconds: int, out: Path, gil: bool) -> subprocess.Popen[Any]:
    argv = [
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "100",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out),
    ]
    if gil:
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(quick: bool) -> dict[str, Any]:
    pyspy = which("py-spy")
    result: dict[str, Any] = {"phases": [], "notes": []}
    if not pyspy:
        result["notes"].append("py-spy not found (pip install py-spy): nothing profiled")
        return result
    images = imgs.ensure()
    seconds = 8 if quick else 20
    conc = 4 * (os.cpu_count() or 2)
    imgpro = cont.Imgpro()
    try:
        imgpro.upload({k: images[k] for k in ("12mp", "2mp")})
        op = OPS["fit500-jpg"]
        img = images["12mp"]
        http_load(lambda i: imgpro.url(img, op, op.warmup), count=1, seconds=60, concurrency=1)

        # cold
        out = WORK / "profile-cold.txt"
        spy = _record(pyspy, imgpro.pid, seconds, out, gil=False)
        hr = http_load(
            lambda i: imgpro.url(img, op, op.target(i)),
            count=100_000,
            seconds=seconds - 1,
            concurrency=conc,
        )
        spy.wait(timeout=120)
        phase = {
            "name": "cold (12 MP → fit 500 JPEG, every request a new size)",
            "load": f"c={conc}: {hr.result.summary()['req_per_s']} req/s",
            "raw": str(out),
            **summarise(out),
        }
        result["phases"].append(phase)

        # warm
        url = imgpro.url(img, op, op.base)
        httpx.get(url, timeout=60).raise_for_status()
        wrk = install.wrk()
        for gil in (False, True):
            out = WORK / f"profile-warm{'-gil' if gil else ''}.txt"
            spy = _record(pyspy, imgpro.pid, seconds, out, gil=gil)
            box: dict[str, Any] = {}

            def drive(box: dict[str, Any] = box) -> None:
                box["r"] = (
                    wrk_load(wrk, url, seconds=seconds - 1, concurrency=conc)
                    if wrk
                    else python_load_summary(url, seconds=seconds - 1, concurrency=conc)
                )

            t = threading.Thread(target=drive)
            t.start()
            t.join()
            spy.wait(timeout=120)
            phase = {
                "name": "warm (one cached variant repeated)" + (", GIL holder only" if gil else ""),
                "load": f"c={conc}: {box['r']['req_per_s']} req/s ({box['r']['loadgen']})",
                "raw": str(out),
                **summarise(out),
            }
            result["phases"].append(phase)
        # listing: 10,000 rows, GET /v1/images?limit=100 repeated
        from bench.harness import listing

        db_path = str(imgpro.data / "imgpro.db")
        ws, prefix = listing._workspace_sqlite(db_path)
        listing._seed_sqlite(db_path, ws, prefix, 0, 10_000)
        list_url = f"{imgpro.base}/v1/images?limit=100"
        auth = {"Authorization": f"Bearer {imgpro.key}"}
        out = WORK / "profile-listing-gil.txt"
        spy = _record(pyspy, imgpro.pid, seconds, out, gil=True)
        r = (
            wrk_load(wrk, list_url, seconds=seconds - 1, concurrency=conc, headers=auth)
            if wrk
            else python_load_summary(list_url, seconds=seconds - 1, concurrency=conc, headers=auth)
        )
        spy.wait(timeout=120)
        result["phases"].append(
            {
                "name": "listing (GET /v1/images?limit=100, 10,000 images), GIL holder only",
                "load": f"c={conc}: {r['req_per_s']} req/s ({r['loadgen']})",
                "raw": str(out),
                **summarise(out),
            }
        )
        for p in result["phases"]:
            log(f"{p['name']}: {p['samples']} samples, {p['load']}")
            for f, pc in p["self"][:10]:
                log(f"   self {pc:5.1f}%  {f}")
    finally:
        imgpro.stop()
    return result
