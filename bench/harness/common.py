"""What every part of the harness shares: paths, ports, processes, RSS sampling, statistics."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
WORK = BENCH / ".work"  # gitignored: venvs, node_modules, images, server data, configs
RESULTS = BENCH / "results"
MB = 1024 * 1024
PY = sys.executable  # the interpreter that has imgpro installed (the project's venv)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Until ``url`` answers anything at all (loopback only)."""
    deadline = time.time() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the harness dies, however it dies (Linux), so
    no server outlives a killed benchmark. Its own children are stopped with its process group."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Server:
    """A child process in its own process group, stopped (group-wide) on exit."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path or WORK / "logs" / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._log.close()

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tree_sum(pid: int, measure: Callable[[psutil.Process], float]) -> float:
    """``measure`` summed over a process and all its descendants (0 once it is gone; a child
    that exits meanwhile counts as 0)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += measure(p)
    return total


def tree_rss(pid: int) -> int:
    """RSS of a process and all its descendants, in bytes."""
    return int(_tree_sum(pid, lambda p: p.memory_info().rss))


class RssSampler:
    """Peak RSS of a process tree, sampled every 20 ms in a background thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self.peak = tree_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process tree."""
    return _tree_sum(pid, lambda p: sum(p.cpu_times()[:2]))  # user + system


def _ours_cpu() -> float:
    """CPU of this harness and everything it started (live, or exited and waited for)."""
    me = psutil.Process()
    t = me.cpu_times()
    return (
        t.user
        + t.system
        + t.children_user
        + t.children_system
        + sum(tree_cpu(c.pid) for c in me.children(recursive=False))
    )


def _busy() -> tuple[float, float]:
    c = psutil.cpu_times()
    busy = c.user + c.nice + c.system + getattr(c, "irq", 0) + getattr(c, "softirq", 0)
    return busy, getattr(c, "steal", 0.0)


class Meter:
    """Around one measurement: peak RSS of the given process trees (summed), their CPU seconds,
    and how busy the machine was with *other* work (CPU used by processes this harness did not
    start, and hypervisor steal), in % of all cores. Other work on the machine (a test suite,
    another benchmark) makes req/s noisy; CPU per request stays meaningful."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.samplers = [RssSampler(p) for p in pids]
        self.peak = 0
        self.cpu = 0.0
        self.foreign_pct = 0.0
        self.steal_pct = 0.0

    def __enter__(self) -> Meter:
        for s in self.samplers:
            s.__enter__()
        self._t = time.perf_counter()
        self._cpu0 = sum(tree_cpu(p) for p in self.pids)
        self._ours0 = _ours_cpu()
        self._busy0, self._steal0 = _busy()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._t
        self.cpu = sum(tree_cpu(p) for p in self.pids) - self._cpu0
        ours = _ours_cpu() - self._ours0
        busy, steal = _busy()
        cores = (os.cpu_count() or 1) * max(wall, 1e-6)
        self.foreign_pct = round(max(0.0, busy - self._busy0 - ours) / cores * 100, 1)
        self.steal_pct = round(max(0.0, steal - self._steal0) / cores * 100, 1)
        for s in self.samplers:
            s.__exit__()
        self.peak = sum(s.peak for s in self.samplers)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 if empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]  # seconds, successful requests only
    bytes: int
    statuses: dict[int, int]

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        ok = len(lat)
        return {
            "requests": self.requests,
            "ok": ok,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "req_per_s": round(ok / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(percentile(lat, 50) * 1000, 1),
            "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1),
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else 0.0,
            "bytes_per_response": round(self.bytes / ok) if ok else 0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def which(name: str) -> str | None:
    """A tool on PATH or next to this interpreter (a venv's bin/)."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    log(f"{label}: {time.perf_counter() - t:.1f} s")


def machine() -> dict[str, Any]:
    import platform

    import pyvips

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libvips": f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
        "date": time.strftime("%Y-%m-%d"),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info
