"""CPU per cached CDN hit, in process (ASGI calls, no sockets): the number docs/transforms.md
quotes for the delivery hot path. Usage, from the repository root:

    python scripts/cdn_hit_cost.py [--n 20000] [--postgres postgresql+asyncpg://…/db]

It makes a fresh data dir (SQLite, or the given empty PostgreSQL database), uploads one JPEG
anonymously and with an account, renders ``w=100`` once, then times N requests of each case
(CPU time of this process, median of 5 rounds). Cases that need presets/signed transforms are
skipped on code that lacks them, so the same script measures a branch and its base.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pyvips

from imgpro.app import create_app
from imgpro.settings import Settings


def jpeg(w: int, h: int) -> bytes:
    im = pyvips.Image.xyz(w, h).extract_band(0).cast("uchar")
    return bytes(im.jpegsave_buffer(Q=85))


async def call(app: Any, path: str, query: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status


async def measure(app: Any, path: str, query: str, n: int) -> float:
    assert await call(app, path, query) == 200, (path, query)
    rounds = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(n // 5):
            await call(app, path, query)
        rounds.append((time.process_time() - start) / (n // 5) * 1e6)
    return statistics.median(rounds)


async def main(n: int, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            public_base_url="http://testserver",
            secret_key="bench",
        )  # noqa: S106 - a throwaway data dir
        app = create_app(settings)
        services = app.state.services
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            from imgpro.accounts.service import create_user
            from imgpro.keys.service import create_key, parse_abilities

            user = await create_user(
                services.db,
                f"bench-{time.time_ns()}@example.com",
                "a long passphrase",
                now=services.clock.now(),
            )
            key, _ = await create_key(
                services.db,
                user_id=user.id,
                workspace_id=user.workspace_id,
                name="b",
                abilities=parse_abilities("read,write"),
                now=services.clock.now(),
            )
            auth = {"Authorization": f"Bearer {key}"}
            r = await c.post(
                "/v1/images", headers=auth, files={"file": ("a.jpg", jpeg(800, 600), "image/jpeg")}
            )
            path = r.json()["url"].removeprefix("http://testserver")
            report = await measure(app, path, "w=100", n)
            print(f"{'w=100 (signing off)':36s} {report:7.1f} µs CPU per cached hit")
            if hasattr(getattr(services, "presets", None), "for_delivery"):
                await c.put("/v1/presets/thumb", headers=auth, json={"w": 100})
                secret = (
                    await c.patch("/v1/settings", headers=auth, json={"signed_transforms": True})
                ).json()
                from imgpro.transforms.signing import sign

                s = sign(secret["signing_secret"], path, [("w", "100")])
                for name, query in [
                    ("preset=thumb (signing on, open)", "preset=thumb"),
                    ("w=100&s=… (signing on, valid)", f"w=100&s={s}"),
                    ("size=s (signing on, open)", "size=s"),
                ]:
                    us = await measure(app, path, query, n)
                    print(f"{name:36s} {us:7.1f} µs CPU per cached hit")
        app.state.renderer.close()
        await services.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.postgres))
