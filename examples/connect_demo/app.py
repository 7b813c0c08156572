"""A tiny third-party web app that uses imgpro's App mode ("Connect img.pro").

It is its own process on its own port, and it talks to imgpro only the way any product would:
it sends the user's browser to imgpro's hosted login, exchanges the returned one-time code on
its backend with its machine secret, and then acts for that user with ``X-Img-User``.

    DEMO_IMGPRO_URL=http://127.0.0.1:8000 DEMO_APP_ID=… DEMO_APP_SECRET=img_sk_live_… \
    DEMO_BASE_URL=http://127.0.0.1:5000 uvicorn examples.connect_demo.app:app --port 5000

Register the app at imgpro's /apps page with the redirect URI ``$DEMO_BASE_URL/callback``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import secrets

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

IMGPRO = os.environ.get("DEMO_IMGPRO_URL", "http://127.0.0.1:8000").rstrip("/")
APP_ID = os.environ.get("DEMO_APP_ID", "")
APP_SECRET = os.environ.get("DEMO_APP_SECRET", "")
BASE = os.environ.get("DEMO_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
REDIRECT_URI = f"{BASE}/callback"
# Signs the demo's own cookie (who is signed in here); unrelated to imgpro's secrets.
COOKIE_KEY = os.environ.get("DEMO_COOKIE_KEY", secrets.token_hex(16)).encode()


def _sign(value: str) -> str:
    mac = hmac.new(COOKIE_KEY, value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def _unsign(token: str | None) -> str | None:
    if not token or "." not in token:
        return None
    value, mac = token.rsplit(".", 1)
    good = hmac.new(COOKIE_KEY, value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, good) else None


def _api(user_id: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {APP_SECRET}"}
    if user_id:
        headers["X-Img-User"] = user_id
    return headers


def _page(body: str) -> HTMLResponse:
    return HTMLResponse(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>PhotoShare demo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:1rem}}
img{{max-width:100%}} .button{{background:#6b21a8;color:#fff;padding:.6rem 1rem;
border-radius:6px;text-decoration:none;border:0;font:inherit;cursor:pointer}}</style></head>
<body><h1>PhotoShare <small>(a demo app)</small></h1>{body}</body></html>""")


async def home(request: Request) -> Response:
    user = _unsign(request.cookies.get("demo_user"))
    if user is None:
        return _page(
            "<p>Keep your photos on img.pro and share them here.</p>"
            '<p><a class="button" id="connect" href="/connect">Connect img.pro</a></p>'
        )
    user_id, _, email = user.partition("|")
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{IMGPRO}/v1/images", headers=_api(user_id), params={"limit": 50})
    if r.status_code != 200:
        error = r.json().get("error", {})
        return _page(
            f'<p role="alert">img.pro said: {html.escape(error.get("code", "?"))} — '
            f"{html.escape(error.get('message', ''))}</p>"
            '<p><a class="button" href="/connect">Connect again</a></p>'
        )
    images = r.json()["data"]
    tiles = "".join(
        f'<figure><img src="{html.escape(i["url"])}?size=s" alt="{html.escape(i["filename"])}">'
        f"<figcaption>{html.escape(i['filename'])}</figcaption></figure>"
        for i in images
    )
    return _page(f"""<p>Connected as <strong id="who">{html.escape(email)}</strong>.</p>
<form method="post" action="/upload" enctype="multipart/form-data">
<label for="file">Add a photo</label> <input id="file" name="file" type="file" accept="image/*">
<button class="button" type="submit">Upload to img.pro</button></form>
<h2>Your photos (<span id="count">{len(images)}</span>)</h2><div class="grid">{tiles}</div>""")


async def connect(request: Request) -> Response:
    state = secrets.token_urlsafe(16)
    url = httpx.URL(
        f"{IMGPRO}/connect", params={"app_id": APP_ID, "redirect_uri": REDIRECT_URI, "state": state}
    )
    response = RedirectResponse(str(url), status_code=303)
    response.set_cookie("demo_state", state, httponly=True, samesite="lax", max_age=600)
    return response


async def callback(request: Request) -> Response:
    state = request.query_params.get("state", "")
    expected = request.cookies.get("demo_state", "")
    if not state or not hmac.compare_digest(state, expected):
        return _page('<p role="alert">The login came back with an unexpected state.</p>')
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{IMGPRO}/v1/connect/exchange",
            headers=_api(),
            json={"code": request.query_params.get("code", ""), "redirect_uri": REDIRECT_URI},
        )
    if r.status_code != 200:
        return _page(f'<p role="alert">Exchange failed: {html.escape(r.text)}</p>')
    user = r.json()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        "demo_user", _sign(f"{user['id']}|{user['email']}"), httponly=True, samesite="lax"
    )
    response.delete_cookie("demo_state")
    return response


async def upload(request: Request) -> Response:
    user = _unsign(request.cookies.get("demo_user"))
    if user is None:
        return RedirectResponse("/", status_code=303)
    form = await request.form()
    file = form.get("file")
    if file is None or isinstance(file, str):
        return RedirectResponse("/", status_code=303)
    data = await file.read()
    async with httpx.AsyncClient(timeout=60) as client:
        r = await client.post(
            f"{IMGPRO}/v1/images",
            headers=_api(user.partition("|")[0]),
            files={"file": (file.filename or "photo", data)},
        )
    if r.status_code != 201:
        return _page(f'<p role="alert">Upload failed: {html.escape(r.text)}</p>')
    return RedirectResponse("/", status_code=303)


app = Starlette(
    routes=[
        Route("/", home),
        Route("/connect", connect),
        Route("/callback", callback),
        Route("/upload", upload, methods=["POST"]),
    ]
)
