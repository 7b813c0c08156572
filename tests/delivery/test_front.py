"""The CDN's front door: /i/ is answered by a plain ASGI handler before FastAPI, yet it is
documented, errors keep the envelope, and FastAPI's own routing reaches the same handler."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import imagegen
from imgpro.transforms import render as render_module

from .support import new_image, path_of


def routed_by_fastapi(app: Any) -> Any:
    """The app without its front door: every request walks FastAPI's router."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    return asgi


async def test_the_route_is_documented(app):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = app.openapi()["paths"]
    operations = paths["/i/{prefix}/{name}"]
    assert {m: op["operationId"] for m, op in operations.items()} == {
        "get": "serve_image",
        "head": "serve_image_head",
    }
    names = {p["name"] for p in operations["get"]["parameters"]}
    assert {"prefix", "name", "w", "h", "fit", "format"} <= names  # the transforms, documented


async def test_fastapi_routing_reaches_the_same_handler(app, client):
    image = await new_image(client, imagegen.jpeg(64, 48))
    direct = await client.get(path_of(image, "w=20"))
    transport = httpx.ASGITransport(app=routed_by_fastapi(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as routed:
        r = await routed.get(path_of(image, "w=20"))
        assert r.status_code == 200 and r.content == direct.content
        assert r.headers["etag"] == direct.headers["etag"]
        missing = await routed.get("/i/abc/nothing1.jpg")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_mounted_under_a_root_path(app, client):
    image = await new_image(client, imagegen.jpeg(64, 48))
    transport = httpx.ASGITransport(app=app, root_path="/img")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as mounted:
        r = await mounted.get("/img" + path_of(image, "w=20"))
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize(
    "path", ["/i/", "/i/abc", "/i/abc/", "/i//x1.jpg", "/i/abc/x1.jpg/", "/i/abc/def/x1.jpg"]
)
async def test_paths_outside_the_route_are_404_envelopes(client, path):
    r = await client.get(path)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path


async def test_other_methods_are_405_with_allow(client):
    image = await new_image(client, imagegen.jpeg(32, 24))
    r = await client.post(path_of(image))
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert r.json()["error"]["type"] == "invalid_request_error"


async def test_an_unexpected_error_is_a_logged_500_envelope(client, app, monkeypatch, caplog):
    image = await new_image(client, imagegen.jpeg(32, 24))

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(app.state.renderer, "plan", broken)
    r = await client.get(path_of(image))
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    assert "boom" not in r.text and "RuntimeError: boom" in caplog.text


async def test_large_variants_are_streamed_from_their_file(client, monkeypatch):
    monkeypatch.setattr(render_module, "SMALL_VARIANT", 100)  # every variant counts as large
    image = await new_image(client, imagegen.jpeg(64, 48))
    cold = await client.get(path_of(image, "w=40"))  # rendered: answered from memory
    warm = await client.get(path_of(image, "w=40"))  # read back from the file, streamed
    assert warm.status_code == 200 and warm.content == cold.content
    assert int(warm.headers["content-length"]) == len(cold.content) > 100
    head = await client.head(path_of(image, "w=40"))
    assert head.content == b"" and head.headers["content-length"] == warm.headers["content-length"]


async def test_lifespan_runs_through_the_front_door(app):
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
