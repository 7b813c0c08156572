"""Start a real ``imgpro serve`` and wait until it takes an upload (the CLI tests share this)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

import imagegen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "imgpro.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def first_upload(port: int, *, timeout: float = 60) -> httpx.Response:
    """POST one small PNG anonymously, retrying until the server listens."""
    deadline = time.time() + timeout
    while True:
        try:
            return httpx.post(
                f"http://127.0.0.1:{port}/v1/images",
                files={"file": ("p.png", imagegen.png(40, 30), "image/png")},
            )
        except httpx.ConnectError:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.2)
