"""One upload policy, three entry points: ``POST /v1/images``, the try-it form without
JavaScript (``/try``) and the dashboard (``/dashboard/upload``) all run images/upload.py.

Each test drives the same rule through every entry point it applies to and checks they agree:
the caps (from settings), the Content-Length pre-check, the anonymous rate-limit slot (taken
before the body is read), the sign-up prompt, and Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import re

import pytest

import imagegen
from factories import add_key, upload
from imgpro.settings import MB, LimitSettings, RateLimitSettings, Settings
from web.support import csrf_of, sign_up, token_for, user_of


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """Caps that are not the defaults (so no literal "20 MB" / "70 MB" can pass), and the
    default anonymous rate limit of 20 an hour."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_base_url="http://testserver",
        secret_key="test-secret-key",
        limits=LimitSettings(anon_max_bytes=1 * MB, key_max_bytes=3 * MB, svg_max_bytes=512 * 1024),
        rate_limits=RateLimitSettings(anon_uploads="20/hour"),
    )


class Body:
    """A request body that records whether the server read any of it."""

    def __init__(self, data: bytes = b"x" * 1024) -> None:
        self.data = data
        self.read = False

    async def __aiter__(self):
        self.read = True
        yield self.data


def multipart_headers(length: int) -> dict[str, str]:
    return {"content-type": "multipart/form-data; boundary=xyz", "content-length": str(length)}


def tmp_files(services) -> list[str]:
    return sorted(p.name for p in services.images.tmp_dir.iterdir() if p.name.startswith("upload-"))


def too_big(limit: int) -> bytes:
    return imagegen.png(16, 16) + b"\0" * (limit + 10)


async def test_the_caps_and_the_signup_prompt_are_the_settings_on_every_entry(client, services):
    # Anonymous: the API and the no-JS form refuse the same file with the same 413 and prompt.
    r = await upload(client, too_big(1 * MB), filename="big.png")
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["code"] == "file_too_large" and error["message"] == "File exceeds the 1 MB limit."
    assert error["action"] == {
        "type": "signup",
        "url": "http://testserver/signup",
        "label": "Sign up for 3 MB uploads",
    }
    token = csrf_of((await client.get("/")).text)
    r = await client.post(
        "/try", data={"csrf_token": token}, files={"file": ("big.png", too_big(1 * MB))}
    )
    assert r.status_code == 413 and "File exceeds the 1 MB limit." in r.text
    assert re.search(
        r'data-action="signup" href="http://testserver/signup">'
        r"Sign up for 3 MB uploads</a>",
        r.text,
    )
    home = (await client.get("/")).text
    assert 'data-signup-label="Sign up for 3 MB uploads"' in home and "70 MB" not in home
    # A key and the dashboard: the same key cap, the same message, no sign-up prompt.
    email = await sign_up(client)
    key = await add_key(services, {"user": await user_of(services, email)}, "read,write")
    r = await upload(client, too_big(3 * MB), headers=key, filename="big.png")
    assert r.status_code == 413
    api_error = r.json()["error"]
    assert api_error["message"] == "File exceeds the 3 MB limit." and "action" not in api_error
    token = await token_for(client, "/dashboard")
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("big.png", too_big(3 * MB))},
    )
    assert r.status_code == 413 and r.json() == {"error": api_error}
    # Under the key cap but over the anonymous one: taken from the dashboard.
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("mid.png", too_big(1 * MB)[: 2 * MB])},
    )
    assert r.status_code != 413
    assert tmp_files(services) == []


async def test_a_declared_length_over_the_cap_is_refused_before_reading(client, services):
    big = multipart_headers(5 * MB)
    body = Body()
    r = await client.post("/v1/images", headers=big, content=body)
    assert r.status_code == 413 and not body.read
    assert r.json()["error"]["action"]["type"] == "signup"
    body = Body()
    r = await client.post("/try", headers=big, content=body)
    assert r.status_code == 413 and not body.read and "File exceeds the 1 MB limit." in r.text
    await sign_up(client)
    token = await token_for(client, "/dashboard")
    # The dashboard's plain form may carry 20 files: its bound is 20 of the key cap.
    body = Body()
    r = await client.post(
        "/dashboard/upload",
        content=body,
        headers={
            **multipart_headers(21 * 3 * MB + 21 * 2 * MB),
            "X-CSRF-Token": token,
            "Accept": "application/json",
        },
    )
    assert r.status_code == 413 and not body.read
    assert r.json()["error"]["message"] == "File exceeds the 3 MB limit."


async def test_the_21st_anonymous_upload_is_refused_before_its_body_is_read(client, services):
    """API and no-JS form share one counter, and the form takes its slot before reading."""
    token = csrf_of((await client.get("/")).text)
    for i in range(10):
        r = await upload(client, imagegen.png(8, 8), filename=f"api{i}.png")
        assert r.status_code == 201, r.text
        assert r.headers["ratelimit-remaining"] == str(19 - 2 * i)
        r = await client.post(
            "/try", data={"csrf_token": token}, files={"file": (f"form{i}.png", imagegen.png(8, 8))}
        )
        assert r.status_code == 303, r.text
        assert r.headers["ratelimit-remaining"] == str(18 - 2 * i)
    body = Body(b"--xyz\r\n")
    r = await client.post("/try", headers=multipart_headers(5000), content=body)
    assert r.status_code == 429 and not body.read
    assert int(r.headers["retry-after"]) > 0 and 'id="tryit-form"' in r.text
    body = Body(b"--xyz\r\n")
    r = await client.post("/v1/images", headers=multipart_headers(5000), content=body)
    assert r.status_code == 429 and not body.read
    assert r.json()["error"]["action"]["type"] == "wait"
    assert tmp_files(services) == []
    # A signed-in dashboard upload is not anonymous: no rate limit, the plan's quota instead.
    await sign_up(client)
    token = await token_for(client, "/dashboard")
    r = await client.post(
        "/dashboard/upload",
        data={"csrf_token": token},
        files={"file": ("mine.png", imagegen.png(8, 8))},
    )
    assert r.status_code == 303


async def test_the_same_errors_on_every_entry(client, services):
    """A file that is no image: the same code and message from all three."""
    text = ("notes.txt", b"just some text, not an image")
    r = await client.post("/v1/images", files={"file": text})
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "unsupported_format"
    token = csrf_of((await client.get("/")).text)
    r = await client.post("/try", data={"csrf_token": token}, files={"file": text})
    assert r.status_code == 422 and message in r.text
    await sign_up(client)
    token = await token_for(client, "/dashboard")
    r = await client.post(
        "/dashboard/upload",
        files={"file": text},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"]["message"] == message


def upload_key_of(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "the dashboard form carries an Idempotency-Key"
    return match.group(1)


async def listed(client, services, email) -> list[str]:
    key = await add_key(services, {"user": await user_of(services, email)}, "read")
    return [i["id"] for i in (await client.get("/v1/images", headers=key)).json()["data"]]


async def test_a_double_submitted_dashboard_form_creates_one_image(client, services):
    email = await sign_up(client)
    page = (await client.get("/dashboard")).text
    token, key = csrf_of(page), upload_key_of(page)
    assert key != upload_key_of((await client.get("/dashboard")).text)  # one per rendered form
    form = {"csrf_token": token, "idempotency_key": key}
    png = imagegen.png(20, 10)
    first = await client.post("/dashboard/upload", data=form, files={"file": ("a.png", png)})
    again = await client.post("/dashboard/upload", data=form, files={"file": ("a.png", png)})
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == "/dashboard?notice=uploaded&n=1"
    assert len(await listed(client, services, email)) == 1
    # Both submits at once (a double click): the second waits for the first and replays it.
    key2 = upload_key_of((await client.get("/dashboard")).text)
    form2 = {"csrf_token": token, "idempotency_key": key2}
    files = [("file", ("b.png", imagegen.png(30, 10))), ("file", ("c.png", imagegen.png(40, 10)))]
    answers = await asyncio.gather(
        *(client.post("/dashboard/upload", data=form2, files=files) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [303, 303]
    assert all(a.headers["location"] == "/dashboard?notice=uploaded&n=2" for a in answers)
    assert len(await listed(client, services, email)) == 3
    # The same key with another file is another request: refused, nothing stored.
    r = await client.post("/dashboard/upload", data=form, files={"file": ("d.png", png + b"x")})
    assert r.status_code == 409 and "Idempotency-Key" in r.text
    assert len(await listed(client, services, email)) == 3


async def test_dashboard_javascript_uploads_replay_by_their_key(client, services):
    email = await sign_up(client)
    token = await token_for(client, "/dashboard")
    headers = {"X-CSRF-Token": token, "Accept": "application/json", "Idempotency-Key": "k-1"}
    png = imagegen.png(24, 12)
    first = await client.post("/dashboard/upload", headers=headers, files={"file": ("a.png", png)})
    again = await client.post("/dashboard/upload", headers=headers, files={"file": ("a.png", png)})
    assert first.status_code == again.status_code == 201
    assert first.json()["data"][0]["id"] == again.json()["data"][0]["id"]
    assert len(await listed(client, services, email)) == 1
    # The dashboard and the API share the workspace's key space, as one account's two doors.
    key = await add_key(services, {"user": await user_of(services, email)}, "read,write")
    r = await upload(client, png, headers={**key, "Idempotency-Key": "k-1"}, filename="a.png")
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_conflict"
