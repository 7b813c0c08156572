"""Where the user CLI finds its server and key: ``IMGPRO_SERVER`` / ``IMGPRO_API_KEY`` first,
then the profile that ``imgpro login`` wrote (``$XDG_CONFIG_HOME/imgpro/config.json``, mode
0600: it holds a secret)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from imgpro.cli.common import err, out

DEFAULT_SERVER = "http://127.0.0.1:8000"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "imgpro" / "config.json"


@dataclass(frozen=True)
class Profile:
    server: str
    key: str | None
    user: str | None

    def client(self) -> Any:
        from imgpro.client import Client  # httpx only for the commands that talk to a server

        return Client(self.server, api_key=self.key, user=self.user)


def load_profile() -> Profile:
    stored: dict[str, Any] = {}
    path = config_path()
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except ValueError:
            err.print(f"[yellow]warning:[/yellow] ignoring unreadable {path}")
    return Profile(
        server=(os.environ.get("IMGPRO_SERVER") or stored.get("server") or DEFAULT_SERVER).rstrip(
            "/"
        ),
        key=os.environ.get("IMGPRO_API_KEY") or stored.get("key"),
        user=os.environ.get("IMGPRO_USER") or stored.get("user"),
    )


def save_profile(server: str, key: str, user: str | None) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"server": server.rstrip("/"), "key": key, **({"user": user} if user else {})}
    # Created 0600 before a byte of the secret is written.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path


def login(
    server: Annotated[str, typer.Option(help="The imgpro server's URL.")],
    key: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, help="An API key (img_live_…) or app secret."),
    ],
    user: Annotated[str | None, typer.Option(help="App mode: the X-Img-User to act for.")] = None,
) -> None:
    """Check a key against a server and store both as your profile (mode 0600)."""
    from imgpro.client import Client, ImgproError

    try:
        with Client(server, api_key=key, user=user) as client:
            usage = client.usage()
    except ImgproError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    path = save_profile(server, key, user)
    out.print(f"logged in to {server.rstrip('/')} (plan {usage.plan}); profile: {path}")
