"""Maintenance commands open an existing store only, and say which; --version; clean help.

Cron runs in $HOME: a command run there must fail clearly, never create an empty store beside
it and report "nothing to do"."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import uuid
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from imgpro import __version__
from imgpro.app import run_migrations
from imgpro.cli.main import app as cli

MAINTENANCE = [
    ["gc"],
    ["keys", "list", "ops@example.com"],
    ["users", "list"],
    ["usage", "verify"],
    ["usage", "show", "ops@example.com"],
    ["plans", "list"],
    ["plans", "requests"],
    ["apps", "list"],
]


def in_process(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str):
    """A command run in ``cwd`` with only ``env`` configured, as cron would run it (in this
    process: the serve tests start the real processes)."""
    monkeypatch.chdir(cwd)
    for name in list(os.environ):
        if name.startswith("IMGPRO_"):
            monkeypatch.delenv(name)
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store created as the README says (`imgpro migrate` in the server's directory)."""
    server_dir = tmp_path / "srv"
    server_dir.mkdir()
    r = in_process(server_dir, monkeypatch, "migrate")
    assert r.exit_code == 0, r.stderr
    data = server_dir / "imgpro-data"
    assert (data / "imgpro.db").is_file() and (data / "blobs").is_dir()
    return data


def test_from_another_directory_a_command_fails_and_creates_nothing(home, monkeypatch):
    r = in_process(home, monkeypatch, "gc")
    assert r.exit_code == 1
    assert f"no imgpro database at {home / 'imgpro-data' / 'imgpro.db'}" in r.stderr
    assert str(home) in r.stderr and "IMGPRO_DATA_DIR" in r.stderr
    assert "removed" not in r.stdout  # no report of an empty store
    assert list(home.iterdir()) == []


@pytest.mark.parametrize("args", MAINTENANCE, ids=" ".join)
def test_every_maintenance_command_refuses_a_missing_store(home, monkeypatch, args):
    r = in_process(home, monkeypatch, *args)
    assert r.exit_code == 1, r.stdout
    assert "no imgpro database at" in r.stderr
    assert list(home.iterdir()) == []


def test_with_the_data_dir_given_it_works_from_anywhere_and_says_which(home, store, monkeypatch):
    r = in_process(
        home,
        monkeypatch,
        "users",
        "create",
        "ops@example.com",
        "--password",
        "s3cret-pass",
        IMGPRO_DATA_DIR=str(store),
    )
    assert r.exit_code == 0, r.stderr
    assert f"database: sqlite+aiosqlite:///{(store / 'imgpro.db').resolve()}" in r.stderr
    r = in_process(home, monkeypatch, "gc", IMGPRO_DATA_DIR=str(store))
    assert r.exit_code == 0, r.stderr
    assert "database: sqlite+aiosqlite:///" in r.stderr and "expired images" in r.stdout
    assert list(home.iterdir()) == []
    # The CLI never writes the server's signing key: the first server start does.
    assert not (store / "secret.key").exists()


def test_every_maintenance_command_names_its_database(home, store, monkeypatch):
    url = f"sqlite+aiosqlite:///{(store / 'imgpro.db').resolve()}"
    assert (
        in_process(
            home,
            monkeypatch,
            "users",
            "create",
            "ops@example.com",
            "--password",
            "s3cret-pass",
            IMGPRO_DATA_DIR=str(store),
        ).exit_code
        == 0
    )
    for args in MAINTENANCE:
        r = in_process(home, monkeypatch, *args, IMGPRO_DATA_DIR=str(store))
        assert r.exit_code == 0, (args, r.stdout, r.stderr)
        assert f"database: {url}" in r.stderr, args


def test_a_missing_blob_directory_is_refused(home, store, monkeypatch):
    (store / "blobs").rmdir()
    r = in_process(home, monkeypatch, "gc", IMGPRO_DATA_DIR=str(store))
    assert r.exit_code == 1 and "no blob directory" in r.stderr
    assert not (store / "blobs").exists()


def _schema_revision(store: Path) -> str:
    engine = sa.create_engine(f"sqlite:///{store / 'imgpro.db'}")
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()


def test_maintenance_commands_honour_auto_migrate(home, tmp_path, monkeypatch):
    """IMGPRO_AUTO_MIGRATE=false: the operator migrates by hand (`imgpro migrate`), so a
    maintenance command must not change the schema under them; by default it brings the
    schema up to date, as the server does."""
    from imgpro.db import migrate

    store = tmp_path / "old"
    url = f"sqlite+aiosqlite:///{store / 'imgpro.db'}"
    migrate.upgrade(url, "0009_app_storage")
    (store / "blobs").mkdir()
    r = in_process(
        home, monkeypatch, "plans", "list", IMGPRO_DATA_DIR=str(store), IMGPRO_AUTO_MIGRATE="false"
    )
    assert r.exit_code == 0, r.stderr
    assert _schema_revision(store) == "0009_app_storage"
    r = in_process(home, monkeypatch, "plans", "list", IMGPRO_DATA_DIR=str(store))
    assert r.exit_code == 0, r.stderr
    assert _schema_revision(store) != "0009_app_storage"


@pytest.mark.postgres
def test_a_postgres_database_without_the_schema_is_refused(home, postgres_url, monkeypatch):
    """IMGPRO_DATABASE_URL names a server database: an empty one is not a store."""
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"imgpro_empty_{uuid.uuid4().hex[:10]}"
    admin = postgres_url.rsplit("/", 1)[0] + "/postgres"

    async def admin_sql(statement: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
        await engine.dispose()

    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        r = in_process(
            home, monkeypatch, "users", "list", IMGPRO_DATABASE_URL=url, IMGPRO_STORAGE="memory"
        )
        assert r.exit_code == 1
        assert f"{name} has no imgpro schema" in r.stderr and "imgpro migrate" in r.stderr
        run_migrations(url)
        r = in_process(
            home, monkeypatch, "users", "list", IMGPRO_DATABASE_URL=url, IMGPRO_STORAGE="memory"
        )
        assert r.exit_code == 0, r.stderr
        assert f"database: {url}" in r.stderr and "no accounts yet" in r.stdout
        wrong = url.replace(name, name + "_absent")
        r = in_process(
            home, monkeypatch, "users", "list", IMGPRO_DATABASE_URL=wrong, IMGPRO_STORAGE="memory"
        )
        assert r.exit_code == 1 and "cannot open the database" in r.stderr
        assert list(home.iterdir()) == []
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_version_is_single_sourced(home, monkeypatch):
    r = in_process(home, monkeypatch, "--version")
    assert r.exit_code == 0
    assert r.stdout.strip() == f"imgpro {__version__}"
    assert importlib.metadata.version("imgpro-server") == __version__


def _commands(group: click.Command, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            found += _commands(command, [*path, name])
        else:
            found.append([*path, name])
    return found


def test_help_shows_no_raw_metavars_and_no_typos():
    root = typer.main.get_command(cli)
    commands = _commands(root, [])
    assert ["users", "delete"] in commands and ["users", "set-password"] in commands
    for args in commands:
        r = CliRunner().invoke(cli, [*args, "--help"], env={"COLUMNS": "120"})
        assert r.exit_code == 0, args
        text = r.stdout
        for raw in ("<bool>", "<str>", "<int", "range>", "[x>=", "{", " .", " ,"):
            assert raw not in text, (args, raw, text)
    serve_help = CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "120"}).stdout
    assert "IMGPRO_WORKERS" in serve_help and "at least 1" in serve_help
