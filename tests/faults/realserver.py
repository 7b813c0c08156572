"""A real ``imgpro serve`` in its own process group, for tests that kill it or talk real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from factories import make_account
from imgpro.app import create_app
from imgpro.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(data_dir: Path, database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
    env.update(
        {
            "IMGPRO_DATA_DIR": str(data_dir),
            "IMGPRO_DATABASE_URL": database_url,
            "IMGPRO_SECRET_KEY": "test-secret-key",
            "IMGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            **extra,
        }
    )
    return env


async def account(data_dir: Path, database_url: str) -> dict[str, Any]:
    """An account and a key, made in process before the server starts (and migrations run)."""
    app = create_app(
        Settings(data_dir=data_dir, database_url=database_url, secret_key="test-secret-key")
    )
    try:
        return await make_account(app.state.services)
    finally:
        await app.state.close()


class Server:
    def __init__(self, port: int, env: dict[str, str], *args: str) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "imgpro.cli", "serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # its own process group: kill -9 takes every worker

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill9(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill9()
