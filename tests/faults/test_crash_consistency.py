"""kill -9 of a real ``imgpro serve`` during concurrent idempotent uploads (SQLite and PostgreSQL).

After each crash the server is started again and every key retried: every upload that got a
201 is retrievable with identical pixels and its retry replays the same image; a key whose
request died is taken over once its lease (2 s here) runs out — no 24-hour 409 — and never
yields a second image; ``imgpro usage verify`` finds no drift.
Bounded: 2 rounds of 8 uploads (~30-60 s per engine).
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from PIL import Image

import imagegen

from .realserver import Server, account, environment, free_port

ROUNDS, PER_ROUND, LEASE = 2, 8, 2

pytestmark = pytest.mark.slow


def _pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGBA").tobytes()


def _upload(
    base: str, headers: dict[str, str], key: str, data: bytes, timeout: float = 20
) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/images",
        headers={**headers, "Idempotency-Key": key},
        files={"file": (f"{key}.png", data, "image/png")},
        data={"caption": key},
        timeout=timeout,
    )


async def test_kill_9_during_idempotent_uploads(database_url, tmp_path):
    data_dir = tmp_path / "data"
    acct = await account(data_dir, database_url)
    port = free_port()
    env = environment(
        data_dir,
        database_url,
        port,
        IMGPRO_WORKERS="2",
        IMGPRO_LIMITS__IDEMPOTENCY_LEASE_SECONDS=str(LEASE),
    )
    rng = random.Random(12)
    sources: dict[str, bytes] = {}
    got_201: dict[str, dict[str, Any]] = {}
    for rnd in range(ROUNDS):
        server = Server(port, env)
        server.wait_ready()
        keys = [f"r{rnd}-{i}" for i in range(PER_ROUND)]
        for i, key in enumerate(keys):
            sources[key] = imagegen.png(300 + 7 * i, 200 + 11 * rnd, alpha=i % 2 == 1)

        def send(key: str, base: str = server.base) -> None:
            try:
                r = _upload(base, acct["headers"], key, sources[key])
            except httpx.HTTPError:
                return  # the crash cut it off: the client never learnt the outcome
            if r.status_code == 201:
                got_201[key] = r.json()

        threads = [threading.Thread(target=send, args=(k,)) for k in keys]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.6))
        server.kill9()
        for t in threads:
            t.join(timeout=30)

    server = Server(port, env)
    server.wait_ready()
    try:
        ids: dict[str, str] = {}
        deadline = time.time() + 30
        for key, data in sources.items():
            while True:
                r = _upload(server.base, acct["headers"], key, data)
                if r.status_code == 409 and time.time() < deadline:
                    assert r.json()["error"]["code"] == "idempotency_key_in_progress"
                    time.sleep(0.5)  # a claim of a killed request: its lease runs out
                    continue
                break
            assert r.status_code == 201, (key, r.text)
            ids[key] = r.json()["id"]
            if key in got_201:  # the client saw a 201: the retry replays that very image
                assert r.headers["idempotent-replayed"] == "true"
                assert r.json()["id"] == got_201[key]["id"]
        assert len(set(ids.values())) == len(sources)  # never a duplicate
        listed = httpx.get(f"{server.base}/v1/images?limit=100", headers=acct["headers"]).json()
        assert sorted(i["id"] for i in listed["data"]) == sorted(ids.values())
        for key, image_id in ids.items():
            body = httpx.get(f"{server.base}/v1/images/{image_id}", headers=acct["headers"]).json()
            served = httpx.get(body["url"], timeout=30)
            assert served.status_code == 200
            assert _pixels(served.content) == _pixels(sources[key]), key
    finally:
        server.stop()
    verify = subprocess.run(
        [sys.executable, "-m", "imgpro.cli", "usage", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
