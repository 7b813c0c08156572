"""``imgpro moderation block | unblock`` — take one image down for every reader, or back up.

An operator's tool (it opens the store directly), unlike ``imgpro images …``, the user's side
that talks to a server through its API.
"""

from __future__ import annotations

from typing import Annotated

import typer

from imgpro.cli.common import Cli, out, run
from imgpro.clock import iso
from imgpro.images import moderation
from imgpro.services import Services

moderation_app = Cli(help="Block or unblock an image (operators).")

ImageId = Annotated[str, typer.Argument(metavar="IMAGE_ID", help="The image's 8-character id.")]


@moderation_app.command("block")
def moderation_block(
    image_id: ImageId,
    reason: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT", help="Why, for the operators' records (never shown to anyone)."
        ),
    ] = None,
) -> None:
    """Block an image: the API, the CDN and its viewer page answer 404 at once. Nothing is
    deleted; it still counts in its owner's storage until it is."""

    async def work(s: Services) -> moderation.BlockState:
        return await moderation.block(s.db, image_id, now=s.clock.now(), reason=reason)

    state = run(work)
    assert state.blocked_at is not None
    why = f" ({state.reason})" if state.reason else ""
    out.print(
        f"blocked {state.image_id} of workspace {state.workspace_id} since "
        f"{iso(state.blocked_at)}{why}",
        highlight=False,
    )


@moderation_app.command("unblock")
def moderation_unblock(image_id: ImageId) -> None:
    """Unblock an image: it is served again exactly as before."""

    async def work(s: Services) -> moderation.BlockState:
        return await moderation.unblock(s.db, image_id)

    state = run(work)
    out.print(f"unblocked {state.image_id} of workspace {state.workspace_id}", highlight=False)
