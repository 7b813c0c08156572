"""Installs the peers, each in its own place under bench/.work (never into the project's venv).

- thumbor 7.8 from PyPI into bench/.work/thumbor-venv
- ipx 3 (with sharp, which bundles its own libvips as npm packages) into bench/.work/ipx
- nginx and wrk from Debian's packages (apt-get), when they are missing

Each step is idempotent and skipped when already done; a step that cannot be done returns
None/False and the part that needed it says so and carries on without that contender.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.harness.common import WORK, log

THUMBOR_SPEC = "thumbor==7.8.*"
IPX_SPEC = "ipx@3"


def _run(argv: list[str], *, cwd: Path | None = None, log_name: str) -> bool:
    out = WORK / "logs" / f"install-{log_name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab") as f:
        proc = subprocess.run(argv, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        log(f"install step failed ({' '.join(argv[:4])} …): see {out}")
    return proc.returncode == 0


def thumbor() -> Path | None:
    """Path of the thumbor executable in its own venv (installed on first use)."""
    venv = WORK / "thumbor-venv"
    exe = venv / "bin" / "thumbor"
    marker = venv / ".installed-7.8"
    if exe.exists() and marker.exists():
        return exe
    log("installing thumbor 7.8 into bench/.work/thumbor-venv …")
    base = getattr(sys, "_base_executable", sys.executable)
    if not (venv / "bin" / "python").exists() and not _run(
        [base, "-m", "venv", str(venv)], log_name="thumbor"
    ):
        return None
    if not _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", THUMBOR_SPEC],
        log_name="thumbor",
    ):
        return None
    marker.write_text(THUMBOR_SPEC)
    return exe if exe.exists() else None


def ipx() -> Path | None:
    """The bench/.work/ipx directory with ipx + sharp installed (npm)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        log("node/npm not found: ipx is skipped")
        return None
    where = WORK / "ipx"
    if (where / "node_modules" / "ipx" / "package.json").exists() and (
        where / "node_modules" / "sharp"
    ).exists():
        return where
    log("installing ipx 3 (+ sharp) into bench/.work/ipx with npm …")
    where.mkdir(parents=True, exist_ok=True)
    pkg = where / "package.json"
    if not pkg.exists():
        pkg.write_text(json.dumps({"name": "imgpro-bench-ipx", "private": True}))
    # sharp ships libvips as the @img/sharp-* npm packages: no download outside the registry.
    if not _run(["npm", "install", "--no-audit", "--no-fund", IPX_SPEC], cwd=where, log_name="ipx"):
        return None
    return where


def apt_tool(binary: str, package: str) -> str | None:
    """A Debian tool, installed with apt-get when missing and we are root."""
    found = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        log(f"{binary} missing and apt-get unavailable (not root?): skipped")
        return None
    log(f"installing {package} with apt-get …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    marker = WORK / ".apt-updated"
    if not marker.exists():
        subprocess.run(
            ["apt-get", "update", "-qq"],
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        WORK.mkdir(parents=True, exist_ok=True)
        marker.touch()
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    found = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if not found:
        log(f"could not install {package}")
    return found


def nginx() -> str | None:
    return apt_tool("nginx", "nginx-light")


def wrk() -> str | None:
    return apt_tool("wrk", "wrk")
