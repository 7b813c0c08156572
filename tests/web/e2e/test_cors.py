"""CORS from a real browser (SPEC §3.1): a page on another origin uploads with a key through
fetch(), the way Cloudinary users upload straight from the browser.

The API runs on ``http://127.0.0.1:<port>``; the page is served by a small HTTP server of this
test and opened as ``http://localhost:<other port>`` — another host name and another port, so
Chromium treats every call as cross-origin and sends the preflight (``Authorization`` and
``Idempotency-Key`` are not CORS-safelisted headers).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from .support import new_email, sign_up
from .test_browser import create_key

pytestmark = pytest.mark.slow

PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Gallery uploader</title>
</head><body><h1>Another site</h1></body></html>"""

UPLOAD = """async ([api, key]) => {
  const canvas = document.createElement("canvas");
  canvas.width = 40; canvas.height = 30;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#c03"; ctx.fillRect(0, 0, 40, 30);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const form = new FormData();
  form.append("file", blob, "from-another-origin.png");
  form.append("caption", "cross-origin");
  const auth = {"Authorization": "Bearer " + key};
  const created = await fetch(api + "/v1/images", {method: "POST", body: form,
    headers: {...auth, "Idempotency-Key": "browser-" + Date.now()}});
  const image = await created.json();
  const read = await fetch(api + "/v1/images/" + image.id, {headers: auth});
  const bad = new FormData();
  bad.append("file", new Blob(["just text"], {type: "text/plain"}), "notes.txt");
  const refused = await fetch(api + "/v1/images", {method: "POST", body: bad, headers: auth});
  const usage = await fetch(api + "/v1/usage", {headers: {...auth, "X-Img-User": ""}});
  return {origin: location.origin, status: created.status, image,
          readStatus: read.status, readCaption: (await read.json()).caption,
          refusedStatus: refused.status, refusedCode: (await refused.json()).error.code,
          usageStatus: usage.status};
}"""


@pytest.fixture(scope="module")
def other_origin() -> Iterator[int]:
    """A second web server (another origin) serving one static page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_page_on_another_origin_uploads_with_a_key(
    page: Any, live_server: str, other_origin: int
) -> None:
    sign_up(page, new_email("cors"))
    key = create_key(page, "browser uploads", read=True, write=True)
    page.goto(f"http://localhost:{other_origin}/")
    result = page.evaluate(UPLOAD, [live_server, key])

    assert result["origin"] == f"http://localhost:{other_origin}"
    assert live_server.startswith("http://127.0.0.1:")  # another host and port: cross-origin
    assert result["status"] == 201, result
    assert result["image"]["filename"] == "from-another-origin.png"
    assert result["image"]["url"].startswith(live_server + "/i/")
    assert (result["readStatus"], result["readCaption"]) == (200, "cross-origin")
    # Errors are readable cross-origin too: the page can tell "this file failed".
    assert (result["refusedStatus"], result["refusedCode"]) == (422, "unsupported_format")
    assert result["usageStatus"] == 200


BLOCKED = """async ([api, key]) => {
  try {
    await fetch(api + "/v1/usage", {headers: {"Authorization": "Bearer " + key,
                                              "X-Not-Allowed": "1"}});
    return "allowed";
  } catch (e) {
    return e.name;
  }
}"""


def test_the_browser_enforces_the_preflight_answer(
    browser: Any, live_server: str, other_origin: int
) -> None:
    """Control: a header outside the allowed list is refused by the preflight, so Chromium
    never sends the request — the uploads above passed because the API allowed them."""
    context = browser.new_context()
    try:
        pg = context.new_page()
        pg.goto(f"http://localhost:{other_origin}/")
        assert pg.evaluate(BLOCKED, [live_server, "img_live_x"]) == "TypeError"
    finally:
        context.close()
