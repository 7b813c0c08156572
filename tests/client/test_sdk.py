"""imgpro.client against a real `imgpro serve`: every method, sync and async."""

from __future__ import annotations

import io

import httpx
import pytest

import imagegen
from imgpro.client import AsyncClient, Client, ImgproError, transform_url


def test_client_round_trip(server, tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(imagegen.png(64, 48))
    with Client(server.url, api_key=server.key) as img:
        from_path = img.upload(path, caption="a", labels={"set": "sdk"}, public=False)
        assert (from_path.filename, from_path.caption, from_path.public) == ("a.png", "a", False)
        from_bytes = img.upload(imagegen.jpeg(40, 30), filename="b.jpg", labels={"set": "sdk"})
        from_file = img.upload(io.BytesIO(imagegen.png(20, 10)), labels={"set": "sdk"})
        imported = img.import_url(from_bytes.url, labels={"set": "sdk"})
        assert (imported.width, imported.height) == (40, 30)
        via_upload = img.upload(from_file.url, labels={"set": "sdk"})  # a URL imports
        assert via_upload.width == 20
        # list iterates every page (pages of 2 here)
        listed = list(img.list(labels={"set": "sdk"}, limit=2))
        assert [i.id for i in listed] == [
            via_upload.id,
            imported.id,
            from_file.id,
            from_bytes.id,
            from_path.id,
        ]
        assert [i.id for i in img.list(ids=[from_path.id, imported.id])] == [
            imported.id,
            from_path.id,
        ]
        updated = img.update(from_path.id, caption="b", public=True)
        assert (updated.caption, updated.public) == ("b", True)
        assert img.get(from_path.id).caption == "b"
        assert img.original(from_path.id) == path.read_bytes()
        url = img.url(from_bytes.id, w=20, fit="cover", format="webp")
        assert url == f"{from_bytes.url}?w=20&fit=cover&format=webp"
        assert img.url(from_bytes, w=10) == transform_url(from_bytes.url, w=10)
        r = httpx.get(url)
        assert (r.status_code, r.headers["content-type"]) == (200, "image/webp")
        usage = img.usage()
        assert usage.plan == "free" and usage.uploads.used >= 5
        assert img.delete(from_path.id) is True
        with pytest.raises(ImgproError) as e:
            img.get(from_path.id)
        assert (e.value.status, e.value.code, e.value.type) == (
            404,
            "not_found",
            "invalid_request_error",
        )
        batch = img.delete_many([from_bytes.id, "zz9zz9zz"])
        assert batch.ids == [from_bytes.id] and batch.errors["zz9zz9zz"]["code"] == "not_found"


def test_idempotency_key_replays_instead_of_duplicating(server):
    with Client(server.url, api_key=server.key) as img:
        data = imagegen.png(30, 30)
        first = img.upload(data, filename="x.png", idempotency_key="same-key-1")
        again = img.upload(data, filename="x.png", idempotency_key="same-key-1")
        assert again.id == first.id
        with pytest.raises(ImgproError) as e:
            img.upload(imagegen.png(31, 30), filename="x.png", idempotency_key="same-key-1")
        assert e.value.status == 409 and e.value.code == "idempotency_key_conflict"


def test_errors_carry_the_envelope(server):
    with Client(server.url) as anonymous:
        with pytest.raises(ImgproError) as e:
            anonymous.usage()
        assert (e.value.status, e.value.code) == (401, "unauthorized")
        assert anonymous.upload(imagegen.png(8, 8), filename="p.png").expires_at is not None
    with Client(server.url, api_key="img_live_nope") as bad, pytest.raises(ImgproError) as e:
        bad.get("abcd1234")
    assert e.value.code == "unauthorized"


class _Flaky(httpx.BaseTransport):
    """Fails twice (a dropped connection, then a 503 with Retry-After), then forwards."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.calls: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if len(self.calls) == 1:
            raise httpx.ConnectError("dropped", request=request)
        if len(self.calls) == 2:
            return httpx.Response(
                503,
                headers={"Retry-After": "0"},
                json={"error": {"type": "api_error", "code": "busy", "message": "busy"}},
            )
        return self.real.handle_request(request)

    def close(self) -> None:  # the client closes its transport: pass that on to the real one
        self.real.close()


def test_retries_reuse_one_idempotency_key(server):
    flaky = _Flaky()
    with Client(server.url, api_key=server.key, transport=flaky) as img:
        image = img.upload(imagegen.png(12, 12), filename="r.png")
    keys = {r.headers["idempotency-key"] for r in flaky.calls}
    assert len(flaky.calls) == 3 and len(keys) == 1
    with Client(server.url, api_key=server.key) as img:
        assert img.get(image.id).filename == "r.png"


def test_no_retry_on_client_errors(server):
    flaky = _Flaky()
    flaky.calls = [None, None]  # type: ignore[list-item]  # skip the injected failures
    with Client(server.url, api_key=server.key, transport=flaky) as img, pytest.raises(ImgproError):
        img.get("zz9zz9zz")
    assert len(flaky.calls) == 3  # one real request, not retried


async def test_async_client(server):
    async with AsyncClient(server.url, api_key=server.key) as img:
        image = await img.upload(imagegen.png(16, 16), filename="c.png", labels={"set": "aio"})
        other = await img.upload(imagegen.png(17, 16), filename="d.png", labels={"set": "aio"})
        seen = [i.id async for i in img.list(labels={"set": "aio"}, limit=1)]
        assert seen == [other.id, image.id]
        assert (await img.update(image.id, caption="x")).caption == "x"
        assert (await img.get(image.id)).caption == "x"
        assert (await img.url(image.id, w=8)).endswith("?w=8")
        assert (await img.usage()).images.used >= 2
        assert await img.delete(image.id)
        with pytest.raises(ImgproError):
            await img.get(image.id)
