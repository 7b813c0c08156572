"""``imgpro keys create | list | revoke`` — API keys, from the operator's side."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from imgpro.accounts import service as accounts
from imgpro.cli.common import Cli, out, run
from imgpro.clock import iso
from imgpro.errors import ApiError
from imgpro.keys import service as keys
from imgpro.services import Services

keys_app = Cli(help="API keys: create, list, revoke.")

Email = Annotated[str, typer.Argument(metavar="EMAIL", help="The account's email address.")]


async def _user(s: Services, email: str) -> accounts.User:
    user = await s.accounts.find_by_email(email)
    if user is None:
        raise ApiError(f"no user with email {email}")
    return user


@keys_app.command("create")
def keys_create(
    email: Email,
    name: Annotated[str, typer.Option(metavar="NAME", help="A label for the key.")],
    abilities: Annotated[
        str, typer.Option(metavar="ABILITIES", help="read, write or read,write.")
    ] = "read,write",
) -> None:
    """Create an API key; prints only the key (shown once)."""

    async def work(s: Services) -> str:
        user = await _user(s, email)
        secret, _ = await s.keys.create(
            user_id=user.id,
            workspace_id=user.workspace_id,
            name=name,
            abilities=keys.parse_abilities(abilities),
        )
        return secret

    typer.echo(run(work))


@keys_app.command("list")
def keys_list(email: Email) -> None:
    """List a user's keys."""

    async def work(s: Services) -> list[keys.KeyInfo]:
        user = await _user(s, email)
        return await s.keys.of_user(user.id)

    table = Table("id", "name", "prefix", "abilities", "created", "last used", "revoked")
    for k in run(work):
        table.add_row(
            k.id,
            k.name,
            k.display_prefix + "…",
            ",".join(k.abilities),
            iso(k.created_at),
            iso(k.last_used_at) or "-",
            iso(k.revoked_at) or "-",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key's id (keys list).")],
) -> None:
    """Revoke a key at once."""

    async def work(s: Services) -> Any:
        return await s.keys.revoke(key_id)

    info = run(work)
    out.print(f"revoked {info.id} ({info.name})")
