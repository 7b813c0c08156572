"""The operator CLI against a real SQLite file: in process (Typer's CliRunner) for the
maintenance commands, a real server process for `imgpro serve`."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from imgpro.cli.main import app as cli

from . import serving


class Result:
    """What a run printed and its exit status, shaped like subprocess.CompletedProcess."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def imgpro(data_dir: Path, *args: str, input: str | None = None) -> Result:
    """A maintenance command in this process: a subprocess per command would only add
    interpreter start-up (the server test below starts a real process)."""
    r = CliRunner().invoke(cli, list(args), input=input, env={"IMGPRO_DATA_DIR": str(data_dir)})
    return Result(r.exit_code, r.stdout, r.stderr)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_users_keys_and_migrate(data_dir):
    r = imgpro(data_dir, "migrate")
    assert r.returncode == 0, r.stderr
    r = imgpro(data_dir, "users", "create", "Ops@Example.com", "--password", "s3cret-pass")
    assert r.returncode == 0, r.stderr
    assert "ops@example.com" in r.stdout
    r = imgpro(data_dir, "users", "create", "ops@example.com", "--password", "s3cret-pass")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = imgpro(
        data_dir, "keys", "create", "ops@example.com", "--name", "ci", "--abilities", "read,write"
    )
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert key.startswith("img_live_") and "\n" not in key  # only the key on stdout
    r = imgpro(data_dir, "keys", "list", "ops@example.com")
    assert r.returncode == 0 and "ci" in r.stdout and key not in r.stdout
    key_id = next(word for word in r.stdout.split() if word.startswith("key_"))
    r = imgpro(data_dir, "keys", "revoke", key_id)
    assert r.returncode == 0 and key_id in r.stdout
    r = imgpro(data_dir, "keys", "create", "nobody@example.com", "--name", "x")
    assert r.returncode == 1
    r = imgpro(data_dir, "keys", "create", "ops@example.com", "--name", "x", "--abilities", "root")
    assert r.returncode == 1


def test_gc_removes_expired_and_orphans(data_dir, tmp_path):
    """Upload through a real server process, expire by clock, then gc from the CLI."""
    from imgpro.app import create_app  # noqa: F401 - proves the import is side-effect free

    r = imgpro(data_dir, "migrate")
    assert r.returncode == 0, r.stderr
    orphan = data_dir / "blobs" / "originals" / "orphan-blob"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind by a crash")
    old = 1_000_000_000
    os.utime(orphan, (old, old))
    variant = data_dir / "blobs" / "variants" / "gone0000" / "abc.webp"
    variant.parent.mkdir(parents=True)
    variant.write_bytes(b"variant of a deleted image")
    r = imgpro(data_dir, "gc")
    assert r.returncode == 0, r.stderr
    assert "orphan originals removed: 1" in r.stdout
    assert "orphan variants removed: 1" in r.stdout
    assert not orphan.exists() and not variant.exists()


def test_serve_starts_and_answers(data_dir, tmp_path):
    port = serving.free_port()
    env = {
        **os.environ,
        "IMGPRO_DATA_DIR": str(data_dir),
        "IMGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    proc = serving.start(port, env)
    try:
        r = serving.first_upload(port)
        assert r.status_code == 201, r.text
        served = httpx.get(r.json()["url"])
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}" in out and "database:" in out
    assert '"GET /i/' not in out  # no access log unless IMGPRO_ACCESS_LOG=true
