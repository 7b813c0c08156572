"""POST /v1/images with {"url": …}: the import path end to end (local servers only)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

import imagegen
from factories import make_account

PNG = imagegen.png(120, 80)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/photos/cat.png")
            self.end_headers()
            return
        if self.path.startswith("/photos/"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)
            return
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def source() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_import_refuses_loopback_by_default(client, services, source):
    acct = await make_account(services)
    r = await client.post(
        "/v1/images", headers=acct["headers"], json={"url": f"{source}/photos/cat.png"}
    )
    assert r.status_code == 422
    assert r.json()["error"] == {
        "type": "processing_error",
        "code": "fetch_failed",
        "message": r.json()["error"]["message"],
    }


async def test_import_from_url(app, client, services, source):
    app.state.settings.imports.allow_private_networks = True  # the explicit test-only switch
    acct = await make_account(services)
    r = await client.post(
        "/v1/images",
        headers=acct["headers"],
        json={"url": f"{source}/redirect", "caption": "imported", "labels": {"via": "url"}},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["filename"] == "cat.png" and body["format"] == "png"
    assert (body["width"], body["height"], body["bytes"]) == (120, 80, len(PNG))
    assert body["caption"] == "imported" and body["labels"] == {"via": "url"}
    r = await client.post("/v1/images", headers=acct["headers"], json={"url": f"{source}/gone"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "fetch_failed"


async def test_import_idempotency_claims_before_fetching(app, client, services, source):
    app.state.settings.imports.allow_private_networks = True
    acct = await make_account(services)
    headers = {**acct["headers"], "Idempotency-Key": "imp-1"}
    body = {"url": f"{source}/photos/a.png"}
    first = await client.post("/v1/images", headers=headers, json=body)
    again = await client.post("/v1/images", headers=headers, json=body)
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()


async def test_import_validates_fields_before_fetching(client, services):
    acct = await make_account(services)
    r = await client.post(
        "/v1/images",
        headers=acct["headers"],
        json={"url": "http://example.invalid/x.png", "ttl": "forever"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await client.post(
        "/v1/images",
        headers=acct["headers"],
        json={"url": "http://example.invalid/x.png", "extra": 1},
    )
    assert r.status_code == 422
