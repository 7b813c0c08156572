"""``imgpro mail outbox | test``: what the service sent (or would send), and a test message.

With no SMTP server configured, every message is "delivered" to the server log and kept in
the outbox; ``imgpro mail outbox`` is how a single-machine operator reads a sign-in code or a
reset link for a user."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from imgpro.cli.common import Cli, out, run
from imgpro.clock import iso
from imgpro.services import Services

mail_app = Cli(help="Outgoing mail.")


def _status(row: Any) -> str:
    if row.sent_at is not None:
        return f"sent ({row.transport})"
    if row.failed_at is not None:
        return "failed"
    return f"queued (attempt {row.attempts})" if row.attempts else "queued"


@mail_app.command("outbox")
def outbox(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 10,
    to: Annotated[str | None, typer.Option(help="Only messages to this address.")] = None,
    bodies: Annotated[
        bool,
        typer.Option(
            help="Print each message's text too (kept for a day when no SMTP server is configured)."
        ),
    ] = True,
) -> None:
    """List recent messages; without SMTP, with their text (codes and links included)."""

    async def work(s: Services) -> Any:
        return await s.mail.recent(limit=limit, to=to)

    rows = run(work)
    table = Table("id", "created", "to", "subject", "status", "last error")
    for row in rows:
        table.add_row(
            row.id,
            iso(row.created_at),
            row.to_address,
            row.subject,
            _status(row),
            row.last_error or "",
        )
    out.print(table)
    if bodies:
        for row in rows:
            if row.text_body:
                out.print(
                    f"\n--- {row.id} to {row.to_address}: {row.subject}",
                    markup=False,
                    highlight=False,
                )
                out.print(row.text_body, markup=False, highlight=False)


@mail_app.command("test")
def test(address: str) -> None:
    """Send a test message to ADDRESS now (through SMTP if configured) and say how it went."""

    async def work(s: Services) -> Any:
        message_id = await s.mail.send(address.strip(), "test")
        await s.mail.deliver_due()
        return next(r for r in await s.mail.recent(limit=50) if r.id == message_id)

    row = run(work)
    out.print(
        f"{row.id} to {row.to_address}: {_status(row)}"
        + (f" — {row.last_error}" if row.last_error else "")
    )
    if row.sent_at is None:
        raise typer.Exit(1)
