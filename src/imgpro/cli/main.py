"""The operator CLI: ``imgpro serve | migrate | gc | users … | keys …``."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import Annotated, Any

import typer
from rich.table import Table

from imgpro.accounts import service as accounts
from imgpro.app import run_migrations
from imgpro.cli.apps import apps_app
from imgpro.cli.common import err, out, run
from imgpro.cli.launch import exec_server
from imgpro.cli.mail import mail_app
from imgpro.cli.plans import plans_app
from imgpro.cli.serve import ServeError, plan_server
from imgpro.cli.usage import usage_app
from imgpro.clock import iso
from imgpro.errors import ApiError
from imgpro.keys import service as keys
from imgpro.services import Services
from imgpro.settings import Settings, available_cpus

app = typer.Typer(help="imgpro: self-hostable image hosting and delivery.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(apps_app, name="apps")
app.add_typer(plans_app, name="plans")
app.add_typer(usage_app, name="usage")
app.add_typer(mail_app, name="mail")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Server processes [default: IMGPRO_WORKERS, else one per CPU core].")] = None,
) -> None:
    """Run the service (API, CDN, pages). Migrates the database first (once, whatever the
    number of processes), unless IMGPRO_AUTO_MIGRATE=false."""
    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    try:
        plan = plan_server(settings, workers, available_cpus(), os.environ)
    except ServeError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    if settings.auto_migrate:
        run_migrations(settings.resolved_database_url)
    os.environ.update(plan.env)  # the server processes' Settings() read it
    out.print(f"imgpro on [bold]http://{host}:{port}[/bold]")
    out.print(f"  database: {settings.resolved_database_url}")
    out.print(f"  blobs:    {settings.storage} {settings.resolved_storage_dir.resolve()}")
    out.print(f"  processes: {plan.processes} × {plan.render_threads} render threads")
    if plan.processes > 1 and not settings.redis_url:
        out.print("  rate limits are counted per process (set IMGPRO_REDIS_URL to share them)")
    out.print(f"  API docs: http://{host}:{port}/docs/api")
    exec_server(host, port, plan.processes, settings.access_log)  # cli/launch.py says why


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = Settings()
    run_migrations(settings.resolved_database_url)
    out.print("database is up to date")


@app.command()
def gc() -> None:
    """Delete expired images and blobs that no row points to; print what was removed."""
    from imgpro.images.gc import collect_garbage

    report = run(collect_garbage)
    for line in report.lines():
        out.print(line)


@users_app.command("create")
def users_create(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    plan: Annotated[str, typer.Option(help="Plan name.")] = "free",
) -> None:
    """Create an account (with its workspace)."""

    async def work(s: Services) -> accounts.User:
        if not s.plans.exists(plan):
            raise ApiError(f"unknown plan '{plan}'")
        return await accounts.create_user(s.db, email, password, now=s.clock.now(), plan=plan)

    user = run(work)
    out.print(f"created user {user.id} <{user.email}> on plan {plan}")


def _user(s: Services, email: str) -> Awaitable[accounts.User]:
    async def find() -> accounts.User:
        async with s.db.read() as conn:
            user = await accounts.find_user_by_email(conn, email)
        if user is None:
            raise ApiError(f"no user with email {email}")
        return user

    return find()


@keys_app.command("create")
def keys_create(
    email: str,
    name: Annotated[str, typer.Option(help="A label for the key.")],
    abilities: Annotated[str, typer.Option(help="read, write or read,write.")] = "read,write",
) -> None:
    """Create an API key; prints only the key (shown once)."""

    async def work(s: Services) -> str:
        user = await _user(s, email)
        secret, _ = await keys.create_key(s.db, user_id=user.id, workspace_id=user.workspace_id,
                                          name=name, abilities=keys.parse_abilities(abilities),
                                          now=s.clock.now())
        return secret

    typer.echo(run(work))


@keys_app.command("list")
def keys_list(email: str) -> None:
    """List a user's keys."""

    async def work(s: Services) -> list[keys.KeyInfo]:
        user = await _user(s, email)
        return await keys.list_keys(s.db, user.id)

    table = Table("id", "name", "prefix", "abilities", "created", "last used", "revoked")
    for k in run(work):
        table.add_row(k.id, k.name, k.display_prefix + "…", ",".join(k.abilities),
                      iso(k.created_at), iso(k.last_used_at) or "-", iso(k.revoked_at) or "-")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key at once."""

    async def work(s: Services) -> Any:
        return await keys.revoke_key(s.db, key_id, now=s.clock.now())

    info = run(work)
    out.print(f"revoked {info.id} ({info.name})")


def main() -> None:
    app()
