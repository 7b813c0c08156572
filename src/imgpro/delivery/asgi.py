"""Just enough HTTP for the CDN, straight on ASGI.

The CDN answers the same few shapes millions of times: headers plus bytes already in memory, a
304, a HEAD. Building Starlette ``Request``/``Response`` objects and walking the router and the
middleware for that cost more CPU than the answer itself (measured; docs/transforms.md), so
these helpers read the ASGI scope and write the two ASGI messages directly. Rarer shapes
(streams, errors) still use Starlette's responses, which work on plain ASGI too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send


@dataclass(slots=True)
class CdnRequest:
    """The parts of a request the CDN reads. Query and header values decode as latin-1, exactly
    as Starlette's ``QueryParams`` and ``Headers`` do."""

    method: str
    path: str
    query: list[tuple[str, str]]
    if_none_match: str | None
    accept: str | None
    peer: str | None = None  # the socket peer's address
    forwarded_for: tuple[str, ...] = ()  # X-Forwarded-For, believed only from trusted proxies

    @classmethod
    def from_scope(cls, scope: Scope) -> CdnRequest:
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):  # mounted under a prefix: path carries it
            path = path[len(root_path) :]
        raw_query: bytes = scope["query_string"]
        query = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True) if raw_query else []
        if_none_match = accept = None
        forwarded: list[str] = []
        for name, value in scope["headers"]:  # ASGI header names are lower case
            if name == b"if-none-match" and if_none_match is None:
                if_none_match = value.decode("latin-1")
            elif name == b"accept" and accept is None:
                accept = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
        client = scope.get("client")
        return cls(
            scope["method"],
            path,
            query,
            if_none_match,
            accept,
            client[0] if client else None,
            tuple(forwarded),
        )


def raw_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


@dataclass(slots=True)
class Reply:
    """A whole response in memory: an ASGI app of its own, like Starlette's ``Response`` (which
    the rarer answers, streams and errors, still use). ``headers`` carry content-length."""

    status: int
    headers: dict[str, str]
    body: bytes = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": raw_headers(self.headers),
            }
        )
        await send({"type": "http.response.body", "body": self.body})
