"""The SDK signs transform URLs for a workspace with signed transforms on (a real server)."""

from __future__ import annotations

import httpx
import pytest

import imagegen
from imgpro.client import AsyncClient, Client, transform_url
from imgpro.transforms import signing


@pytest.fixture(scope="module")
def secret(server) -> str:
    auth = {"Authorization": f"Bearer {server.key}"}
    r = httpx.patch(f"{server.url}/v1/settings", json={"signed_transforms": True}, headers=auth)
    assert r.status_code == 200, r.text
    r2 = httpx.put(
        f"{server.url}/v1/presets/thumb", json={"w": 24, "fit": "cover", "h": 24}, headers=auth
    )
    assert r2.status_code in (200, 201), r2.text
    return str(r.json()["signing_secret"])


def test_signed_urls_load_and_unsigned_or_tampered_ones_do_not(server, secret):
    with Client(server.url, api_key=server.key, signing_secret=secret) as img:
        image = img.upload(imagegen.jpeg(80, 60), filename="s.jpg")
        url = img.url(image, w=40, fit="cover", h=30, format="webp")
        assert "&s=" in url
        r = httpx.get(url)
        assert (r.status_code, r.headers["content-type"]) == (200, "image/webp")
        unsigned = transform_url(image.url, w=40, fit="cover", h=30, format="webp")
        r = httpx.get(unsigned)
        assert r.status_code == 403 and r.json()["error"]["code"] == "signature_required"
        assert r.headers["cache-control"] == "no-store"
        for tampered in (url.replace("w=40", "w=41"), url + "&q=10", url.replace(".jpg?", ".png?")):
            r = httpx.get(tampered)
            assert r.status_code == 403, tampered
            assert r.json()["error"]["code"] == "signature_required"
        # What stays open is left unsigned (and loads): plain, a size, a preset.
        assert img.url(image) == image.url
        assert img.url(image, size="m") == f"{image.url}?size=m"
        preset = img.url(image, preset="thumb")
        assert preset == f"{image.url}?preset=thumb"
        r = httpx.get(preset)
        assert r.status_code == 200
        # Without the secret the SDK cannot sign: the CDN refuses.
        with Client(server.url, api_key=server.key) as plain:
            assert httpx.get(plain.url(image, w=40)).status_code == 403


async def test_async_client_signs_the_same_way(server, secret):
    async with AsyncClient(server.url, api_key=server.key, signing_secret=secret) as img:
        image = await img.upload(imagegen.jpeg(50, 50), filename="a.jpg")
        url = await img.url(image, w=20, blur=2)
        assert url == transform_url(image.url, signing_secret=secret, w=20, blur=2)
        async with httpx.AsyncClient() as http:
            assert (await http.get(url)).status_code == 200
            assert (await http.get(url.replace("blur=2", "blur=3"))).status_code == 403


def test_the_signed_path_starts_at_i_whatever_the_base():
    """A CDN base without ``/i`` (a proxy mapping cdn.example.com/… to /i/…) signs the path the
    server checks."""
    assert signing.cdn_path("/i/k3x/a8f2k4q1.jpg") == "/i/k3x/a8f2k4q1.jpg"
    assert signing.cdn_path("/k3x/a8f2k4q1.jpg") == "/i/k3x/a8f2k4q1.jpg"
    assert signing.cdn_path("/img/i/k3x/a8f2k4q1.jpg") == "/i/k3x/a8f2k4q1.jpg"
    a = transform_url("https://cdn.example.com/k3x/a8f2k4q1.jpg", signing_secret="k", w=5)
    b = transform_url("http://127.0.0.1:8000/i/k3x/a8f2k4q1.jpg", signing_secret="k", w=5)
    assert a.split("?")[1] == b.split("?")[1]
    assert b.split("?")[1] == "w=5&s=" + signing.sign("k", "/i/k3x/a8f2k4q1.jpg", [("w", "5")])
