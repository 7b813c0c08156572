"""URL imports are cheap to refuse and bounded (issue 12 point 6)."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator

import pytest

import imagegen
from factories import make_account
from imgpro import net
from imgpro.errors import Busy, RateLimited
from imgpro.images.import_gate import ImportGate, until_disconnect


class _Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(3)
        png = imagegen.png(20, 20)
        self.send_response(200)
        self.send_header("Content-Length", str(len(png)))
        self.end_headers()
        self.wfile.write(png)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_source() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_gate_bounds_per_process_and_per_principal():
    gate = ImportGate(max_total=3, max_per_principal=2)
    with gate.admit("a"), gate.admit("a"):
        with pytest.raises(RateLimited) as info, gate.admit("a"):
            pass
        assert info.value.action == {"type": "wait", "retry_after": 2}
        with gate.admit("b"), pytest.raises(Busy), gate.admit("c"):
            pass
    assert gate.total == 0


async def test_refused_addresses_are_cheap_and_indistinguishable(client, services, monkeypatch):
    built = []
    monkeypatch.setattr(net, "_tls_context", None)
    real = net.httpx.create_ssl_context
    monkeypatch.setattr(net.httpx, "create_ssl_context", lambda **kw: built.append(1) or real(**kw))
    acct = await make_account(services, plan="unlimited")
    messages = set()
    started = time.monotonic()
    for url in (
        "http://127.0.0.1/x.png",
        "http://10.1.2.3/x.png",
        "http://no-such-host.invalid/x.png",
        "http://169.254.169.254/latest",
    ):
        r = await client.post("/v1/images", headers=acct["headers"], json={"url": url})
        assert r.status_code == 422 and r.json()["error"]["code"] == "fetch_failed"
        messages.add(r.json()["error"]["message"])
    assert len(messages) == 1  # "no such host" and "refused address" read the same
    assert built == []  # refused before any TLS context was built
    assert time.monotonic() - started < 5


async def test_failed_imports_are_rate_limited(app, client, services):
    from imgpro.ratelimit.limiter import _Limit

    services.ratelimits.failed_imports = _Limit("3/minute", "failed-import")
    acct = await make_account(services)
    codes = []
    for _ in range(5):
        r = await client.post(
            "/v1/images", headers=acct["headers"], json={"url": "http://127.0.0.1/x.png"}
        )
        codes.append(r.json()["error"]["code"])
    assert codes == ["fetch_failed"] * 3 + ["rate_limited"] * 2
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_concurrent_imports_per_principal_are_bounded(app, client, services, slow_source):
    app.state.settings.imports.allow_private_networks = True
    services.import_gate.max_per_principal = 2
    acct = await make_account(services)

    async def one(i: int):
        return await client.post(
            "/v1/images", headers=acct["headers"], json={"url": f"{slow_source}/{i}.png"}
        )

    results = await asyncio.gather(*(one(i) for i in range(4)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 201, 429, 429]


async def test_a_client_hang_up_cancels_the_fetch():
    cancelled = asyncio.Event()

    async def fetch() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    hang_up = asyncio.Event()

    async def receive() -> dict[str, object]:
        await hang_up.wait()
        return {"type": "http.disconnect"}

    task = asyncio.create_task(until_disconnect(fetch(), receive))
    await asyncio.sleep(0.05)
    hang_up.set()
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(task, 5)
    assert getattr(info.value, "code", None) == "fetch_failed"
    assert cancelled.is_set()


async def test_one_tls_context_per_process(monkeypatch):
    monkeypatch.setattr(net, "_tls_context", None)
    first = await net.tls_context()
    assert await net.tls_context() is first
    transport = net.pinned_transport(ssl_context=first)
    assert transport._pool._ssl_context is first
    await transport.aclose()
