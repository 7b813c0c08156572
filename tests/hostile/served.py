"""A real ``imgpro serve`` under an address-space cap, and what its processes cost.

The cap (``RLIMIT_AS``, inherited by every process the server starts) is what makes an unbounded
path fail a test instead of the machine: an allocation past it fails, the render errors or the
process dies, and the suite sees a 5xx or a dead server."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli import serving

# Measured: a healthy server (1 process, 2 render threads, MALLOC_ARENA_MAX=2) reserves ~0.3 GB
# of address space at rest and stays under ~1.0 GB through every family below (two concurrent
# 7000x7000 HEIC decodes); the old unbounded cover path asked for 21 GB, six unbounded HEIC
# decodes for ~1.9 GB.
ADDRESS_SPACE_CAP = 1536 * 1024**2


@dataclass
class Cost:
    peak_rss_mb: float  # high-water resident memory of the biggest server process
    cpu_s: float  # user + system CPU of every server process


def _tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in children:
            out += _tree(int(child))
    return out


def cost(pid: int) -> Cost:
    peak, cpu = 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
        except FileNotFoundError:
            continue
    return Cost(peak, cpu)


def _cap_address_space() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


class Server:
    def __init__(
        self, data_dir: Path, *, render_workers: int = 2, database_url: str | None = None
    ) -> None:
        self.port = serving.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
        env.update(
            {
                "IMGPRO_DATA_DIR": str(data_dir),
                "IMGPRO_PUBLIC_BASE_URL": self.base,
                "IMGPRO_RATE_LIMITS__ANON_UPLOADS": "",
                "IMGPRO_RENDER__WORKERS": str(render_workers),
            }
        )
        if database_url is not None:
            env["IMGPRO_DATABASE_URL"] = database_url
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imgpro.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_cap_address_space,
        )
        serving.first_upload(self.port)
        self.client = httpx.Client(base_url=self.base, timeout=120)

    def alive(self) -> bool:
        return self.proc.poll() is None and self.client.get("/openapi.json").status_code < 500

    def upload(self, name: str, data: bytes) -> httpx.Response:
        return self.client.post("/v1/images", files={"file": (name, data)})

    def cost(self) -> Cost:
        return cost(self.proc.pid)

    def stop(self) -> str:
        self.client.close()
        self.proc.terminate()
        try:
            return self.proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()[0]
