"""Idempotent retries from real HTTP clients against a real server (SPEC §3.1).

curl, httpx and requests each draw a fresh multipart boundary per request; the retry must
still be recognised (same file, filename, part type and fields) and replayed.
"""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
import requests

import imagegen

from .realserver import Server, account, environment, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
async def served(tmp_path):
    data_dir = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{data_dir / 'imgpro.db'}"
    acct = await account(data_dir, url)
    port = free_port()
    server = Server(port, environment(data_dir, url, port, IMGPRO_WORKERS="1"))
    server.wait_ready()
    yield server, acct
    server.stop()


def _curl(base: str, key: str, idem: str, path, caption: str) -> tuple[int, dict, str]:
    body = path.with_suffix(".out")
    head = subprocess.run(
        [
            "curl",
            "-s",
            "-D",
            "-",
            "-o",
            str(body),
            "-H",
            f"Authorization: Bearer {key}",
            "-H",
            f"Idempotency-Key: {idem}",
            "-F",
            f"file=@{path};type=image/png",
            "-F",
            f"caption={caption}",
            f"{base}/v1/images",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    final = head.strip().split("\r\n\r\n")[-1]  # after any "100 Continue" block
    return int(final.split()[1]), json.loads(body.read_text()), final.lower()


def test_curl_httpx_and_requests_retries_replay(served, tmp_path):
    server, acct = served
    png = imagegen.png(90, 60)
    path = tmp_path / "photo.png"
    path.write_bytes(png)
    other = imagegen.png(91, 60)

    # curl
    s1, b1, _ = _curl(server.base, acct["key"], "curl-1", path, "c")
    s2, b2, head = _curl(server.base, acct["key"], "curl-1", path, "c")
    assert (s1, s2) == (201, 201) and b1 == b2 and "idempotent-replayed: true" in head
    s3, b3, _ = _curl(server.base, acct["key"], "curl-1", path, "changed")
    assert s3 == 409 and b3["error"]["code"] == "idempotency_key_conflict"

    # httpx
    h = {**acct["headers"], "Idempotency-Key": "httpx-1"}
    files = {"file": ("photo.png", png, "image/png")}
    r1 = httpx.post(f"{server.base}/v1/images", headers=h, files=files, data={"caption": "x"})
    r2 = httpx.post(f"{server.base}/v1/images", headers=h, files=files, data={"caption": "x"})
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert r2.headers["idempotent-replayed"] == "true"
    r3 = httpx.post(
        f"{server.base}/v1/images",
        headers=h,
        files={"file": ("photo.png", other, "image/png")},
        data={"caption": "x"},
    )
    assert r3.status_code == 409

    # requests
    h = {**acct["headers"], "Idempotency-Key": "requests-1"}
    q1 = requests.post(
        f"{server.base}/v1/images",
        headers=h,
        timeout=60,
        files={"file": ("photo.png", png, "image/png")},
        data={"caption": "q"},
    )
    q2 = requests.post(
        f"{server.base}/v1/images",
        headers=h,
        timeout=60,
        files={"file": ("photo.png", png, "image/png")},
        data={"caption": "q"},
    )
    assert q1.status_code == q2.status_code == 201 and q1.json() == q2.json()
    assert q2.headers["Idempotent-Replayed"] == "true"
    q3 = requests.post(
        f"{server.base}/v1/images",
        headers=h,
        timeout=60,
        files={"file": ("renamed.png", png, "image/png")},
        data={"caption": "q"},
    )
    assert q3.status_code == 409

    # Three keys, three images: the replays created nothing.
    listed = httpx.get(f"{server.base}/v1/images", headers=acct["headers"]).json()
    assert len(listed["data"]) == 3
