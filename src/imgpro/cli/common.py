"""What every CLI command shares: the consoles and running one async operation."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from imgpro.app import run_migrations
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.errors import ApiError
from imgpro.services import Services, build_services
from imgpro.settings import Settings
from imgpro.storage import make_blob_store

# Piped output (scripts, tests) must never truncate ids to fit an 80-column guess.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)
T = TypeVar("T")


def run(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run one async operation against the configured database and blob store; an ApiError
    becomes a red message and exit status 1."""
    settings = Settings()
    run_migrations(settings.resolved_database_url)

    async def main() -> T:
        db = Database(settings.resolved_database_url)
        blobs = make_blob_store(settings)
        services = build_services(settings, Clock(), db, blobs)
        try:
            return await work(services)
        finally:
            await blobs.aclose()
            await db.dispose()

    try:
        return asyncio.run(main())
    except ApiError as e:
        err.print(f"[red]error:[/red] {e.message}")
        raise typer.Exit(1) from None
