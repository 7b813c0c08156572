"""What every CLI command shares: the consoles, clean help, and running one async operation
against an existing store."""

from __future__ import annotations

import asyncio
import atexit
import secrets
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup

from imgpro.bootstrap import build_runtime, prepare_schema
from imgpro.clock import Clock
from imgpro.errors import ApiError
from imgpro.services import Services
from imgpro.settings import Settings

# Piped output (scripts, tests) must never truncate ids to fit an 80-column guess.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
T = TypeVar("T")


# -- help without raw metavars ----------------------------------------------------------------


def _clean_params(params: list[Any]) -> list[Any]:
    """Typer's help shows each parameter's Python type (``<bool>`` beside a flag, ``<int range>
    [x>=1]``). Flags show nothing, arguments show their name, options their ``metavar`` (an
    upper-case word; a range belongs in the option's own help text)."""
    for param in params:
        if isinstance(param, TyperArgument):
            shown: str | None = None
            param.metavar = param.metavar or (param.name or "").upper()
            # The usage line: EMAIL when required, [EMAIL] when optional (Typer: {EMAIL}).
            usage = param.metavar if param.required else f"[{param.metavar}]"
            usage += "..." if param.nargs != 1 else ""
            param._usage_display_name = _constant(usage)  # type: ignore[method-assign]
        elif getattr(param, "is_flag", False) or getattr(param, "count", False):
            shown = None
        else:
            shown = param.metavar or (param.name or "value").upper()
        param.display_type_rich = _constant(shown, takes_ctx=True)
        param._get_number_range_help_str = _constant(None)
    return params


def _constant(value: str | None, *, takes_ctx: bool = False) -> Any:
    """A replacement method of one parameter (set on the instance) that answers ``value``."""
    if takes_ctx:
        return lambda ctx: value
    return lambda: value


class CleanCommand(TyperCommand):
    def get_params(self, ctx: Any) -> Any:
        return _clean_params(super().get_params(ctx))


class CleanGroup(TyperGroup):
    def get_params(self, ctx: Any) -> Any:
        return _clean_params(super().get_params(ctx))


class Cli(typer.Typer):
    """A Typer whose commands and groups print clean help (see ``_clean_params``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", CleanGroup)
        kwargs.setdefault("no_args_is_help", True)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", CleanCommand)
        return super().command(*args, **kwargs)


# -- the store --------------------------------------------------------------------------------


class StoreMissing(Exception):
    """The configured store does not exist: a maintenance command never creates one."""


def describe_database(url: str) -> str:
    """The database URL as the operator should see it: password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other engines and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1] if "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return Path(path.split("?", 1)[0])


def _missing_sqlite(settings: Settings, path: Path) -> str:
    lines = [f"no imgpro database at {path}"]
    if not settings.database_url:
        where = settings.data_dir
        source = (
            "IMGPRO_DATA_DIR"
            if "data_dir" in settings.model_fields_set
            else "the default data directory"
        )
        if not where.is_absolute():
            lines.append(f"  {source} is {where}, relative to the current directory {Path.cwd()}")
    lines.append(
        "  Run this where `imgpro serve` runs, or set IMGPRO_DATA_DIR (or "
        "IMGPRO_DATABASE_URL) to the store to maintain; `imgpro migrate` creates a "
        "new one."
    )
    return "\n".join(lines)


async def _has_schema(url: str) -> bool:
    """Whether the database has imgpro's tables (Alembic's version table)."""
    from sqlalchemy import inspect
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return bool(
                await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version"))
            )
    finally:
        await engine.dispose()


def check_store(settings: Settings) -> str:
    """Refuse to go on with a store that does not exist (a SQLite file that is not there, a
    server database without imgpro's schema); return the database URL to show."""
    url = settings.resolved_database_url
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            raise StoreMissing(_missing_sqlite(settings, path))
    elif not url.startswith("sqlite"):
        try:
            present = asyncio.run(_has_schema(url))
        except Exception as e:  # the server is down, the database absent, the login wrong
            raise StoreMissing(
                f"cannot open the database {describe_database(url)}: {type(e).__name__}: {e}"
            ) from None
        if not present:
            raise StoreMissing(
                f"the database {describe_database(url)} has no imgpro schema; "
                "`imgpro migrate` creates it"
            )
    if settings.storage == "local" and not settings.resolved_storage_dir.is_dir():
        raise StoreMissing(
            f"no blob directory at {settings.resolved_storage_dir.resolve()} "
            f"(the database {describe_database(url)} exists); set "
            "IMGPRO_STORAGE_DIR or IMGPRO_DATA_DIR to the one `imgpro serve` "
            "uses"
        )
    return describe_database(url)


def open_store() -> Settings:
    """Settings for a maintenance command: the store must exist; say which one it is (on
    stderr: stdout stays for what the command prints); bring its schema up to date unless
    IMGPRO_AUTO_MIGRATE=false (as the server does)."""
    settings = Settings()
    try:
        shown = check_store(settings)
    except StoreMissing as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"database: {shown}", highlight=False, markup=False)
    prepare_schema(settings)
    if not settings.data_dir.is_dir():
        # The store lives elsewhere (a server database, an explicit blob directory): the
        # default data directory is not the store, and a command must not create one in the
        # current directory for its scratch files either. Those go to a private temp dir.
        scratch = Path(tempfile.mkdtemp(prefix="imgpro-cli-"))
        atexit.register(shutil.rmtree, scratch, True)
        settings = settings.model_copy(
            update={"data_dir": scratch, "storage_dir": settings.resolved_storage_dir}
        )
    if not settings.secret_key and not (settings.data_dir / "secret.key").is_file():
        # The server keeps its signing key beside the data; a command must not create one
        # there (the first server start does). Nothing the CLI prints is signed.
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(48)})
    return settings


def run(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run one async operation against the configured (existing) database and blob store; an
    ApiError becomes a red message and exit status 1."""
    settings = open_store()

    async def main() -> T:
        runtime = build_runtime(settings, Clock())
        try:
            return await work(runtime.services)
        finally:
            await runtime.aclose()

    try:
        return asyncio.run(main())
    except ApiError as e:
        err.print(f"[red]error:[/red] {e.message}")
        raise typer.Exit(1) from None
