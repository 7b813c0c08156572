"""The operator CLI: ``imgpro serve | migrate | gc | users … | keys … | apps … | plans … |
usage … | moderation …``.

``serve`` and ``migrate`` may create the default store (that is how one starts); every command
that maintains a store opens an existing one only, and says which (cli/common.py).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from imgpro import __version__
from imgpro.bootstrap import prepare_schema, run_migrations
from imgpro.cli.apps import apps_app
from imgpro.cli.common import Cli, describe_database, err, out, run
from imgpro.cli.images import images_app
from imgpro.cli.keys import keys_app
from imgpro.cli.launch import exec_server
from imgpro.cli.mail import mail_app
from imgpro.cli.mcp import mcp
from imgpro.cli.moderation import moderation_app
from imgpro.cli.plans import plans_app
from imgpro.cli.profile import login
from imgpro.cli.serve import ServeError, banner_lines, plan_server
from imgpro.cli.storage import storage_app
from imgpro.cli.upload import upload
from imgpro.cli.usage import usage_app
from imgpro.cli.users import users_app
from imgpro.cpus import available_cpus
from imgpro.settings import Settings

app = Cli(help="imgpro: self-hostable image hosting and delivery.")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(apps_app, name="apps")
app.add_typer(plans_app, name="plans")
app.add_typer(usage_app, name="usage")
app.add_typer(storage_app, name="storage")
app.add_typer(mail_app, name="mail")
app.add_typer(moderation_app, name="moderation")
# The user's side (talks to a server through imgpro.client): upload, images, login, mcp.
app.command()(upload)
app.add_typer(images_app, name="images")
app.command()(login)
app.command()(mcp)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imgpro {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """imgpro: self-hostable image hosting and delivery."""


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help="Listen address (default: IMGPRO_HOST, else 127.0.0.1)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            metavar="PORT",
            help="Listen port (default: IMGPRO_PORT, else 8000; 0 picks a free one).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Server processes, at least 1 (default: IMGPRO_WORKERS, else one per CPU core).",
        ),
    ] = None,
) -> None:
    """Run the service (API, CDN, pages); prints its base URL once it answers.

    Migrates the database first (once, whatever the number of processes), unless
    IMGPRO_AUTO_MIGRATE=false. Without IMGPRO_PUBLIC_BASE_URL, every link it returns names
    the address it listens on."""
    settings = Settings()
    host = host or settings.host
    port = settings.port if port is None else port
    try:
        plan = plan_server(settings, workers, available_cpus(), os.environ)
    except ServeError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    prepare_schema(settings)
    # The server processes' Settings() read these: links point where this server listens.
    os.environ.update({**plan.env, "IMGPRO_HOST": host, "IMGPRO_PORT": str(port)})
    exec_server(
        host,
        port,
        plan.processes,
        settings.access_log,
        settings.public_base_url,
        "\n".join(banner_lines(settings, plan, host)),
    )  # cli/launch.py says why


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (creates the default store if there is none)."""
    settings = Settings()
    run_migrations(settings.resolved_database_url)
    if settings.storage == "local":
        settings.resolved_storage_dir.mkdir(parents=True, exist_ok=True)
    out.print(
        f"database {describe_database(settings.resolved_database_url)} is up to date",
        highlight=False,
    )


@app.command()
def gc() -> None:
    """Delete expired images and blobs that no row points to; print what was removed."""
    from imgpro.images.gc import collect_garbage

    report = run(collect_garbage)
    for line in report.lines():
        out.print(line)


def main() -> None:
    app()
