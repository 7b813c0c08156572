"""One real ``imgpro serve`` (SQLite, a temp data dir) per module, an account and an API key
made with the operator CLI, for the SDK, the user CLI, MCP and generated-client tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli import serving  # tests/ is on sys.path (rootdir conftest)


@dataclass
class Server:
    url: str
    key: str
    env: dict[str, str]  # for CLI subprocesses: IMGPRO_SERVER, IMGPRO_API_KEY, XDG dirs

    def cli(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "imgpro.cli", *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"imgpro {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("server")
    port = serving.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
    env.update(
        {
            "IMGPRO_DATA_DIR": str(data),
            "IMGPRO_WORKERS": "1",
            "IMGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "IMGPRO_IMPORTS__ALLOW_PRIVATE_NETWORKS": "true",
        }
    )  # URL imports from itself
    proc = serving.start(port, env)
    try:
        assert serving.first_upload(port).status_code == 201
        run = [sys.executable, "-m", "imgpro.cli"]
        subprocess.run(
            [*run, "users", "create", "dev@example.com", "--password", "a long passphrase"],
            env=env,
            check=True,
            capture_output=True,
        )
        key = subprocess.run(
            [*run, "keys", "create", "dev@example.com", "--name", "t"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert key.startswith("img_live_")
        url = f"http://127.0.0.1:{port}"
        home = Path(data / "home")
        client_env = {
            **env,
            "IMGPRO_SERVER": url,
            "IMGPRO_API_KEY": key,
            "XDG_CONFIG_HOME": str(home / "config"),
        }
        yield Server(url, key, client_env)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # reads the server's output to the end and closes the pipe
