"""``imgpro users create | list | set-password | delete`` — accounts, from the operator's side."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from imgpro.accounts import service as accounts
from imgpro.accounts.models import Deletion, UserRow
from imgpro.billing.plans import format_bytes
from imgpro.cli.common import Cli, err, out, run
from imgpro.clock import iso
from imgpro.errors import ApiError
from imgpro.services import Services

users_app = Cli(help="Accounts: create, list, set a password, delete.")

Email = Annotated[str, typer.Argument(metavar="EMAIL", help="The account's email address.")]
Password = Annotated[
    str | None,
    typer.Option(
        metavar="PASSWORD",
        help="The password (at least 8 characters). Asked for, hidden and "
        "twice, when not given — a password on the command line stays in the shell's history.",
    ),
]


def _password(given: str | None) -> str:
    """The given password, or one typed twice without echo."""
    if given is not None:
        return given
    if not typer.get_text_stream("stdin").isatty():
        # Scripts may pipe it: one line on stdin (nothing to confirm against).
        line = typer.get_text_stream("stdin").readline().rstrip("\r\n")
        if not line:
            err.print("[red]error:[/red] no password given (use --password, or type it)")
            raise typer.Exit(1)
        return line
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create")
def users_create(
    email: Email,
    password: Password = None,
    plan: Annotated[str, typer.Option(metavar="PLAN", help="Plan name.")] = "free",
) -> None:
    """Create an account (with its workspace)."""
    secret = _password(password)
    admin_check(secret)

    async def work(s: Services) -> accounts.User:
        if not s.plans.exists(plan):
            raise ApiError(f"unknown plan '{plan}'")
        return await s.accounts.create_user(email, secret, plan=plan)

    user = run(work)
    out.print(f"created user {user.id} <{user.email}> on plan {plan}", highlight=False)


def admin_check(password: str) -> None:
    try:
        accounts.check_new_password(password)
    except ApiError as e:
        err.print(f"[red]error:[/red] {e.message}")
        raise typer.Exit(1) from None


@users_app.command("list")
def users_list() -> None:
    """Every account: id, email, plan, images, storage, live keys, created."""

    async def work(s: Services) -> list[UserRow]:
        return await s.accounts.list_users()

    rows = run(work)
    if not rows:
        out.print("no accounts yet (`imgpro users create EMAIL`)")
        return
    table = Table("id", "email", "plan", "images", "storage", "keys", "created")
    for u in rows:
        table.add_row(
            u.id,
            u.email,
            u.plan,
            f"{u.images:,}",
            format_bytes(u.storage_bytes),
            str(u.keys),
            iso(u.created_at),
        )
    out.print(table)


@users_app.command("set-password")
def users_set_password(email: Email, password: Password = None) -> None:
    """Set an account's password; its browser sessions end (API keys keep working)."""
    secret = _password(password)
    admin_check(secret)

    async def work(s: Services) -> str:
        return await s.accounts.reset_password(email, secret)

    user_id = run(work)
    out.print(
        f"password set for {user_id} <{email.strip().lower()}>; its sessions ended", highlight=False
    )


@users_app.command("delete")
def users_delete(
    email: Email,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete an account and everything it owns. Cannot be undone.

    Its images (originals and resized copies), API keys, sessions and its workspaces inside
    apps go with it; an account that owns apps is refused."""
    if not yes:
        if not typer.get_text_stream("stdin").isatty():
            err.print(
                "[red]error:[/red] deleting an account needs confirmation: run it in a "
                "terminal, or add --yes"
            )
            raise typer.Exit(1)
        typer.confirm(
            f"Delete {email} with all its images and keys? This cannot be undone", abort=True
        )

    async def work(s: Services) -> Deletion:
        return await s.accounts.delete_user(email, remove_blobs=s.images.remove_blobs)

    d = run(work)
    out.print(
        f"deleted {d.user_id} <{d.email}>: {d.images} image(s), {d.keys} key(s), "
        f"{d.workspaces} workspace(s)",
        highlight=False,
    )
