"""``imgpro users create | list | set-password | delete`` against a real SQLite store; the
password prompt through a real terminal (a pty)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import imagegen
from imgpro.accounts.sessions import SessionUser
from imgpro.app import create_app
from imgpro.cli.main import app as cli
from imgpro.db.tables import api_keys, image_tombstones, images, sessions, users, workspaces
from imgpro.ids import shard_prefix
from imgpro.images.fields import UploadOptions
from imgpro.images.intake import SpooledFile
from imgpro.settings import Settings
from imgpro.web.sessions import principal_for


def run(data_dir: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(
        cli,
        list(args),
        input=input,
        env={"IMGPRO_DATA_DIR": str(data_dir), "IMGPRO_SECRET_KEY": "users-cli"},
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    assert run(path, "migrate").exit_code == 0
    return path


def in_app(data_dir: Path, work: Any) -> Any:
    async def main() -> Any:
        app = create_app(Settings(data_dir=data_dir, secret_key="users-cli"))
        try:
            return await work(app.state.services)
        finally:
            await app.state.close()

    return asyncio.run(main())


def _terminal(data_dir: Path, *args: str, answers: list[str], timeout: float = 60) -> str:
    """Run the CLI on a pseudo-terminal, answering each prompt in turn; all it printed."""
    leader, follower = pty.openpty()
    env = {**os.environ, "IMGPRO_DATA_DIR": str(data_dir), "IMGPRO_SECRET_KEY": "users-cli"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgpro.cli", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    break  # the process closed the terminal
                if not chunk:
                    break
                seen += chunk
                # Answer once the prompt's trailing space is out: getpass writes it after
                # turning echo off (click prints the text before), as a person would wait.
                if pending and seen.endswith(b": "):
                    os.write(leader, pending.pop(0).encode() + b"\n")
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
    finally:
        os.close(leader)
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
    return seen.decode(errors="replace")


def test_create_prompts_for_a_hidden_confirmed_password(data_dir):
    secret = "typed-not-echoed-1"
    screen = _terminal(
        data_dir,
        "users",
        "create",
        "tty@example.com",
        answers=[secret, "a-typo-here", secret, secret],
    )
    assert "Password:" in screen and "Repeat for confirmation:" in screen
    assert "do not match" in screen  # a mismatch asks again
    assert secret not in screen  # hidden: never echoed
    assert "created user" in screen

    async def check(s: Any) -> Any:
        return await s.accounts.authenticate("tty@example.com", secret)

    assert in_app(data_dir, check) is not None


def test_create_with_a_piped_password_and_the_checks(data_dir):
    r = run(data_dir, "users", "create", "pipe@example.com", input="piped-password\n")
    assert r.exit_code == 0, r.stderr
    r = run(data_dir, "users", "create", "short@example.com", "--password", "short")
    assert r.exit_code == 1 and "at least 8 characters" in r.stderr
    r = run(data_dir, "users", "create", "nobody@example.com", input="")
    assert r.exit_code == 1 and "no password given" in r.stderr


def test_list_and_set_password(data_dir):
    assert (
        run(data_dir, "users", "list")
        .stdout.strip()
        .endswith("no accounts yet (`imgpro users create EMAIL`)")
    )
    for email in ("a@example.com", "b@example.com"):
        assert run(data_dir, "users", "create", email, "--password", "first-pass").exit_code == 0
    r = run(data_dir, "users", "list")
    assert r.exit_code == 0
    assert "a@example.com" in r.stdout and "b@example.com" in r.stdout and "free" in r.stdout

    async def sign_in(s: Any) -> Any:
        user = await s.accounts.authenticate("a@example.com", "first-pass")
        await s.accounts.start_session(user.id)
        return user

    user = in_app(data_dir, sign_in)
    r = run(data_dir, "users", "set-password", "A@example.com", input="second-pass\n")
    assert r.exit_code == 0, r.stderr
    assert "sessions ended" in r.stdout

    async def after(s: Any) -> tuple[Any, Any, int]:
        async with s.db.read() as conn:
            live = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(sessions)
                .where(sessions.c.user_id == user.id)
            )
        return (
            await s.accounts.authenticate("a@example.com", "first-pass"),
            await s.accounts.authenticate("a@example.com", "second-pass"),
            live,
        )

    old, new, live = in_app(data_dir, after)
    assert old is None and new is not None and live == 0
    r = run(data_dir, "users", "set-password", "nobody@example.com", "--password", "whatever1")
    assert r.exit_code == 1 and "No account" in r.stderr


def test_delete_removes_the_account_its_images_blobs_and_keys(data_dir, tmp_path):
    assert (
        run(data_dir, "users", "create", "gone@example.com", "--password", "a-good-pass").exit_code
        == 0
    )
    assert (
        run(data_dir, "users", "create", "stays@example.com", "--password", "a-good-pass").exit_code
        == 0
    )

    async def upload(s: Any, email: str, n: int) -> list[dict[str, Any]]:
        u = await s.accounts.authenticate(email, "a-good-pass")
        await s.accounts.start_session(u.id)
        principal = principal_for(
            SessionUser(
                user_id=u.id,
                email=u.email,
                workspace_id=u.workspace_id,
                workspace_prefix=shard_prefix(u.workspace_id),
                plan="free",
            )
        )
        await s.keys.create(
            user_id=u.id, workspace_id=u.workspace_id, name="k", abilities=principal.abilities
        )
        made = []
        for i in range(n):
            data = imagegen.png(50 + i, 40)
            path = s.images.tmp_dir / f"upload-{email}-{i}"
            path.write_bytes(data)
            spooled = SpooledFile(
                path=path,
                size=len(data),
                head=data[:4096],
                filename=f"{i}.png",
                digest_hex=hashlib.sha256(data).hexdigest(),
            )
            made.append(await s.images.create(principal, spooled, UploadOptions()))
        return made

    gone = in_app(data_dir, lambda s: upload(s, "gone@example.com", 3))
    kept = in_app(data_dir, lambda s: upload(s, "stays@example.com", 1))
    originals = data_dir / "blobs" / "originals"
    assert len(list(originals.iterdir())) == 4

    r = run(data_dir, "users", "delete", "gone@example.com")  # no terminal, no --yes
    assert r.exit_code == 1 and "--yes" in r.stderr
    r = run(data_dir, "users", "delete", "gone@example.com", "--yes")
    assert r.exit_code == 0, r.stderr
    assert "3 image(s), 1 key(s), 1 workspace(s)" in r.stdout
    assert len(list(originals.iterdir())) == 1  # the blobs went with the rows

    async def rows(s: Any) -> dict[str, Any]:
        async with s.db.read() as conn:
            return {
                "users": (await conn.execute(sa.select(users.c.email))).scalars().all(),
                "images": (await conn.execute(sa.select(images.c.id))).scalars().all(),
                "keys": await conn.scalar(sa.select(sa.func.count()).select_from(api_keys)),
                "sessions": await conn.scalar(sa.select(sa.func.count()).select_from(sessions)),
                "tombstones": await conn.scalar(
                    sa.select(sa.func.count()).select_from(image_tombstones)
                ),
                "workspaces": (await conn.execute(sa.select(workspaces.c.kind))).scalars().all(),
            }

    left = in_app(data_dir, rows)
    assert left["users"] == ["stays@example.com"]
    assert left["images"] == [kept[0]["id"]]
    assert left["keys"] == 1 and left["sessions"] == 1 and left["tombstones"] == 0
    assert sorted(left["workspaces"]) == ["account", "anonymous"]
    for image in gone:  # deleted images are gone for readers too
        assert image["id"] not in left["images"]
    r = run(data_dir, "users", "delete", "gone@example.com", "--yes")
    assert r.exit_code == 1 and "No account" in r.stderr


def test_delete_refuses_an_app_owner(data_dir):
    assert (
        run(
            data_dir,
            "users",
            "create",
            "owner@example.com",
            "--password",
            "a-good-pass",
            "--plan",
            "pro",
        ).exit_code
        == 0
    )

    async def register(s: Any) -> str:
        u = await s.accounts.authenticate("owner@example.com", "a-good-pass")
        app, _ = await s.apps.register(
            owner_user_id=u.id,
            name="Gallery",
            redirect_uris=["https://g.example.com/cb"],
            now=s.clock.now(),
        )
        return str(app.id)

    app_id = in_app(data_dir, register)
    r = run(data_dir, "users", "delete", "owner@example.com", "--yes")
    assert r.exit_code == 1 and app_id in r.stderr and "owns app" in r.stderr
    assert "owner@example.com" in run(data_dir, "users", "list").stdout
