"""URL import (SPEC §3.1): SSRF policy, pinning, redirects, timeouts, size caps.

Real servers run on 127.0.0.1 (and 127.0.0.2 for the redirect-to-a-refused-address case) in
threads; nothing here touches any other address. Tests that need a "public" host use a fake
resolver and a fake network stream instead of the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpcore
import httpx
import pytest

from factories import make_account
from imgpro.errors import FetchFailed, FileTooLarge, ImportFailed
from imgpro.images.importer import FetchedFile, fetch_to_file, sanitise_filename
from imgpro.net import (
    AddressNotAllowed,
    HostNotFound,
    PinnedNetworkBackend,
    PinnedTransport,
    is_allowed,
    is_connectable,
    pinned_transport,
)
from imgpro.settings import ImportSettings

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # 10 248 bytes, > 4096 so head is a prefix
PNG_SHA = hashlib.sha256(PNG).hexdigest()
MB = 1024 * 1024


# -- local test servers -------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()
        self._bomb: bytes | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-body is the point of several tests

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = gzip.compress(b"\0" * (16 * MB), compresslevel=1)
        return self._bomb


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path.startswith("/img/"):
            self._send(200, PNG, {"Content-Type": "image/png"})
        elif path == "/redir":
            n = int(query["n"])
            target = "/img/final%20name.png" if n == 0 else f"/redir?n={n - 1}"
            self._send(302, headers={"Location": target})
        elif path == "/to":
            self._send(int(query.get("status", "302")), headers={"Location": query["loc"]})
        elif path == "/cookie":
            self._send(302, headers={"Set-Cookie": "sid=secret; Path=/", "Location": "/img/c.png"})
        elif path == "/status":
            self._send(int(query["code"]), b"nope")
        elif path == "/stall":  # headers, a few bytes, then nothing
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.server.stop.wait(5)
        elif path == "/trickle":  # a byte every 0.1 s: never a read timeout, always too slow
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                if self.server.stop.wait(0.1):
                    break
        elif path == "/chunked":  # no Content-Length, endless
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"z" * 65536
            for _ in range(1000):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/huge-cl":  # promises a gigabyte, then waits
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.server.stop.wait(5)
        elif path == "/truncated":  # promises the whole PNG, sends half, hangs up
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG[: len(PNG) // 2])
            self.close_connection = True
        elif path == "/truncated-chunked":  # chunks, then a hang-up instead of the last chunk
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(PNG), PNG))
            self.close_connection = True
        elif path == "/reset":  # half the body, then a TCP reset (SO_LINGER 0)
            self.send_response(200)
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG[: len(PNG) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
            self.close_connection = True
        elif path == "/empty":  # 200 with nothing in it
            self._send(200, b"", {"Content-Type": "image/png"})
        elif path == "/gzip":
            self._send(200, gzip.compress(PNG), {"Content-Encoding": "gzip"})
        elif path == "/bomb":
            self._send(200, self.server.bomb(), {"Content-Encoding": "gzip"})
        else:
            self._send(404, b"no such path")


def _serve(host: str) -> Iterator[_Server]:
    server = _Server(host)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def _srv1() -> Iterator[_Server]:
    yield from _serve("127.0.0.1")


@pytest.fixture(scope="module")
def _srv2() -> Iterator[_Server]:
    yield from _serve("127.0.0.2")


@pytest.fixture
def srv(_srv1: _Server) -> _Server:
    _srv1.requests.clear()
    return _srv1


@pytest.fixture
def srv2(_srv2: _Server) -> _Server:
    _srv2.requests.clear()
    return _srv2


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    d = tmp_path / "incoming"
    d.mkdir()
    return d


STRICT = ImportSettings(connect_timeout=1.0, read_timeout=0.5, total_timeout=5.0)
LOCAL = ImportSettings(
    allow_private_networks=True, connect_timeout=1.0, read_timeout=0.5, total_timeout=5.0
)


async def _fetch(url: str, dest: Path, settings: ImportSettings = LOCAL, **kw: Any) -> FetchedFile:
    kw.setdefault("max_bytes", MB)
    return await fetch_to_file(url, dest, settings=settings, **kw)


# -- refused by default -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/img/a.png",
        "http://[::1]:{port}/img/a.png",
        "http://10.0.0.1/img/a.png",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/latest/meta-data",
        "http://[fd00:ec2::254]/latest/meta-data",
        "http://2130706433:{port}/img/a.png",  # decimal
        "http://0x7f.1:{port}/img/a.png",  # hex, short form
        "http://0x7f000001:{port}/img/a.png",
        "http://0177.1:{port}/img/a.png",  # octal, short form
        "http://017700000001:{port}/img/a.png",  # octal
        "http://127.1:{port}/img/a.png",
        "http://localhost:{port}/img/a.png",  # a name that resolves to loopback
        "http://[::ffff:127.0.0.1]:{port}/img/a.png",  # IPv4-mapped
        "http://[::ffff:7f00:1]:{port}/img/a.png",
        "http://[64:ff9b::7f00:1]/",  # NAT64 around loopback
        "http://[2002:7f00:1::1]/",  # 6to4 around loopback
        "http://0.0.0.0:{port}/img/a.png",
        "http://[::]:{port}/img/a.png",
        "http://alice:secret@127.0.0.1:{port}/img/a.png",  # userinfo pointing at loopback
        "http://example.com@127.0.0.1:{port}/img/a.png",
        "https://127.0.0.1:{port}/img/a.png",
    ],
)
async def test_private_addresses_refused_by_default(url: str, srv: _Server, dest: Path) -> None:
    port = srv.server_address[1]
    # A connection attempt to an unroutable address would wait out the 10 s connect timeout;
    # the policy refuses at once. (The bound is loose so a loaded CI machine never flakes.)
    patient = STRICT.model_copy(update={"connect_timeout": 10.0, "total_timeout": 20.0})
    started = time.monotonic()
    with pytest.raises(FetchFailed) as info:
        await _fetch(url.format(port=port), dest, patient)
    assert time.monotonic() - started < 5  # refused before any connection attempt
    assert info.value.message.endswith("the host cannot be reached from this server.")
    assert info.value.status == 422
    assert srv.requests == []
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1:{port}/img/a.png",  # httpx rejects this spelling as an invalid URL
        "http://127.000.000.001:{port}/img/a.png",
        "http://LOCALHOST.:{port}/img/a.png",  # loopback, or unresolvable where DNS is absent
    ],
)
async def test_odd_spellings_refused(url: str, srv: _Server, dest: Path) -> None:
    with pytest.raises(FetchFailed) as info:
        await _fetch(url.format(port=srv.server_address[1]), dest, STRICT)
    assert info.value.message.endswith(("cannot be reached from this server.", "invalid URL."))
    assert srv.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/a.png",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "gopher://127.0.0.1:70/_x",
        "ws://127.0.0.1/",
        "http:///no-host",
        "/relative/path.png",
        "",
        "http://[::1/",
    ],
)
async def test_non_http_urls_refused(url: str, dest: Path) -> None:
    with pytest.raises(FetchFailed):
        await _fetch(url, dest)  # even with private networks allowed


# -- success path (allow_private_networks=True) -------------------------------------------------


async def test_fetch_image(srv: _Server, dest: Path) -> None:
    got = await _fetch(f"{srv.base}/img/photo%20one.png?size=big#frag", dest)
    assert got.size == len(PNG)
    assert got.sha256 == PNG_SHA
    assert got.head == PNG[:4096]
    assert got.filename == "photo one.png"
    assert got.content_type == "image/png"
    assert got.path.parent == dest
    assert got.path.read_bytes() == PNG
    assert list(dest.iterdir()) == [got.path]
    [(path, headers)] = srv.requests
    assert path == "/img/photo%20one.png?size=big"
    assert headers["user-agent"] == LOCAL.user_agent
    assert headers["host"] == f"127.0.0.1:{srv.server_address[1]}"
    assert "authorization" not in headers
    assert "cookie" not in headers


async def test_localhost_name_allowed_when_private_allowed(srv: _Server, dest: Path) -> None:
    got = await _fetch(f"http://localhost:{srv.server_address[1]}/img/x.png", dest)
    assert got.sha256 == PNG_SHA
    assert srv.requests[0][1]["host"] == f"localhost:{srv.server_address[1]}"


async def test_userinfo_is_not_sent(srv: _Server, dest: Path) -> None:
    got = await _fetch(f"http://alice:secret@127.0.0.1:{srv.server_address[1]}/img/a.png", dest)
    assert got.size == len(PNG)
    assert "authorization" not in srv.requests[0][1]


async def test_small_file_head_is_whole_body(srv: _Server, dest: Path) -> None:
    got = await _fetch(f"{srv.base}/status?code=200", dest)
    assert (got.size, got.head, got.filename, got.content_type) == (4, b"nope", "status", None)


async def test_redirect_chain_within_limit(srv: _Server, dest: Path) -> None:
    got = await _fetch(f"{srv.base}/redir?n=4", dest)  # 5 redirects == max_redirects
    assert got.sha256 == PNG_SHA
    assert got.filename == "final name.png"  # from the final URL
    assert len(srv.requests) == 6
    assert all(h["user-agent"] == LOCAL.user_agent for _, h in srv.requests)


async def test_too_many_redirects(srv: _Server, dest: Path) -> None:
    with pytest.raises(FetchFailed, match="too many redirects"):
        await _fetch(f"{srv.base}/redir?n=5", dest)
    assert len(srv.requests) == 6  # the 6th redirect is not followed
    with pytest.raises(FetchFailed, match="too many redirects"):
        await _fetch(f"{srv.base}/redir?n=1", dest, LOCAL.model_copy(update={"max_redirects": 1}))
    assert list(dest.iterdir()) == []


async def test_redirect_no_follow_when_zero(srv: _Server, dest: Path) -> None:
    with pytest.raises(FetchFailed, match="too many redirects"):
        await _fetch(f"{srv.base}/redir?n=0", dest, LOCAL.model_copy(update={"max_redirects": 0}))


@pytest.mark.parametrize("loc", ["file:///etc/passwd", "ftp://127.0.0.1/x", "javascript:x()"])
async def test_redirect_to_other_scheme_refused(srv: _Server, dest: Path, loc: str) -> None:
    with pytest.raises(FetchFailed):
        await _fetch(f"{srv.base}/to?loc={quote(loc, safe='')}", dest)


async def test_cookies_not_carried_across_redirects(srv: _Server, dest: Path) -> None:
    await _fetch(f"{srv.base}/cookie", dest)
    assert [p for p, _ in srv.requests] == ["/cookie", "/img/c.png"]
    assert all("cookie" not in h for _, h in srv.requests)


@pytest.mark.parametrize("code", [404, 500, 304, 403])
async def test_non_2xx_fails(srv: _Server, dest: Path, code: int) -> None:
    with pytest.raises(FetchFailed, match=f"HTTP {code}"):
        await _fetch(f"{srv.base}/status?code={code}", dest)
    assert list(dest.iterdir()) == []


async def test_redirect_without_location_fails(srv: _Server, dest: Path) -> None:
    with pytest.raises(FetchFailed, match="HTTP 302"):
        await _fetch(f"{srv.base}/status?code=302", dest)


# -- timeouts and size caps ---------------------------------------------------------------------


async def test_stalled_body_times_out(srv: _Server, dest: Path) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="timed out"):
        await _fetch(f"{srv.base}/stall", dest)
    assert 0.4 < time.monotonic() - started < 4.0  # read_timeout 0.5 s; loose bound
    assert list(dest.iterdir()) == []


async def test_total_timeout(srv: _Server, dest: Path) -> None:
    settings = LOCAL.model_copy(update={"total_timeout": 0.6})
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="timed out"):
        await _fetch(f"{srv.base}/trickle", dest, settings)
    assert 0.5 < time.monotonic() - started < 4.0
    assert list(dest.iterdir()) == []


async def test_chunked_body_over_cap(srv: _Server, dest: Path) -> None:
    with pytest.raises(FileTooLarge) as info:
        await _fetch(f"{srv.base}/chunked", dest, max_bytes=MB)
    assert info.value.status == 413
    assert list(dest.iterdir()) == []


async def test_content_length_over_cap_refused_up_front(srv: _Server, dest: Path) -> None:
    # The body never comes: reading it would end in a read timeout (FetchFailed), not this.
    with pytest.raises(FileTooLarge):
        await _fetch(f"{srv.base}/huge-cl", dest, max_bytes=MB)
    assert list(dest.iterdir()) == []


async def test_cap_boundary(srv: _Server, dest: Path) -> None:
    got = await _fetch(f"{srv.base}/img/a.png", dest, max_bytes=len(PNG))
    assert got.size == len(PNG)
    with pytest.raises(FileTooLarge):
        await _fetch(f"{srv.base}/img/a.png", dest, max_bytes=len(PNG) - 1)
    assert list(dest.iterdir()) == [got.path]


async def test_gzip_body_is_decoded(srv: _Server, dest: Path) -> None:
    got = await _fetch(f"{srv.base}/gzip", dest)
    assert (got.size, got.sha256) == (len(PNG), PNG_SHA)


async def test_gzip_bomb_hits_the_cap(srv: _Server, dest: Path) -> None:
    with pytest.raises(FileTooLarge):
        await _fetch(f"{srv.base}/bomb", dest, max_bytes=MB)
    assert list(dest.iterdir()) == []


# -- a 2xx whose body cannot be taken: import_failed, not fetch_failed -------------------------


@pytest.mark.parametrize("path", ["/truncated", "/truncated-chunked", "/reset"])
async def test_truncated_body_is_import_failed(srv: _Server, dest: Path, path: str) -> None:
    with pytest.raises(ImportFailed, match="the body ended early") as info:
        await _fetch(f"{srv.base}{path}", dest)
    assert (info.value.status, info.value.code) == (422, "import_failed")
    assert info.value.type == "processing_error"
    assert list(dest.iterdir()) == []  # the partial download is gone


async def test_empty_body_is_import_failed(srv: _Server, dest: Path) -> None:
    with pytest.raises(ImportFailed, match="the body was empty") as info:
        await _fetch(f"{srv.base}/empty", dest)
    assert (info.value.status, info.value.code) == (422, "import_failed")
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("path", ["/truncated", "/reset", "/empty"])
async def test_unusable_body_stores_and_records_nothing(
    app: Any, client: Any, services: Any, srv: _Server, path: str
) -> None:
    app.state.settings.imports.allow_private_networks = True  # the explicit test-only switch
    acct = await make_account(services)
    r = await client.post(
        "/v1/images",
        headers={**acct["headers"], "Idempotency-Key": f"k{path}"},
        json={"url": f"{srv.base}{path}"},
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert (error["type"], error["code"]) == ("processing_error", "import_failed")
    assert srv.base not in error["message"] and "127.0.0.1" not in error["message"]
    listed = await client.get("/v1/images", headers=acct["headers"])
    assert listed.json()["data"] == []
    assert [key async for key in services.blobs.iter_keys("originals/")] == []
    assert [p.name for p in services.images.tmp_dir.iterdir()] == []
    # A failure, not a result: the same key retried runs again (nothing replayed).
    again = await client.post(
        "/v1/images",
        headers={**acct["headers"], "Idempotency-Key": f"k{path}"},
        json={"url": f"{srv.base}{path}"},
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "import_failed"


# -- every hop is checked -----------------------------------------------------------------------


def _only_127_0_0_1(ip: Any) -> bool:
    return bool(ip == IPv4Address("127.0.0.1"))


async def test_redirect_to_refused_address(srv: _Server, srv2: _Server, dest: Path) -> None:
    transport = pinned_transport(address_policy=_only_127_0_0_1)
    target = quote(f"{srv2.base}/img/inner.png", safe="")
    try:
        with pytest.raises(FetchFailed, match="cannot be reached from this server"):
            await _fetch(f"{srv.base}/to?loc={target}", dest, STRICT, transport=transport)
        assert [p for p, _ in srv.requests] == [f"/to?loc={target}"]
        assert srv2.requests == []
        # …and so is a direct fetch of the second server.
        with pytest.raises(FetchFailed, match="cannot be reached from this server"):
            await _fetch(f"{srv2.base}/img/direct.png", dest, STRICT, transport=transport)
    finally:
        await transport.aclose()
    # Control: the same redirect is followed once the policy allows the second address.
    both = pinned_transport(address_policy=lambda ip: str(ip) in ("127.0.0.1", "127.0.0.2"))
    try:
        got = await _fetch(f"{srv.base}/to?loc={target}&status=307", dest, STRICT, transport=both)
    finally:
        await both.aclose()
    assert got.filename == "inner.png"
    assert [p for p, _ in srv2.requests] == ["/img/inner.png"]


async def test_passed_transport_is_not_closed(srv: _Server, dest: Path) -> None:
    transport = pinned_transport(LOCAL)
    try:
        await _fetch(f"{srv.base}/img/1.png", dest, transport=transport)
        await _fetch(f"{srv.base}/img/2.png", dest, transport=transport)
    finally:
        await transport.aclose()


# -- pinning, with a fake resolver and a fake network -------------------------------------------


class _FakeStream(httpcore.AsyncNetworkStream):
    def __init__(self, log: dict[str, Any]) -> None:
        self.log = log
        self.sent = b""
        self.replies = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: image/x\r\n\r\nhello"
        ]

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.replies.pop(0) if self.replies else b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent += buffer
        self.log["sent"] = self.sent

    async def aclose(self) -> None:
        pass

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        self.log["server_hostname"] = server_hostname
        self.log["check_hostname"] = ssl_context.check_hostname
        raise httpcore.ConnectError("no TLS in this test")

    def get_extra_info(self, info: str) -> Any:
        return None


class _FakeNet(httpcore.AsyncNetworkBackend):
    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.dialled: list[str] = []
        self.refuse = refuse
        self.log: dict[str, Any] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.dialled.append(host)
        if host in self.refuse:
            raise httpcore.ConnectError("refused")
        return _FakeStream(self.log)

    async def sleep(self, seconds: float) -> None:
        pass


def _resolver(*addresses: str) -> Any:
    async def resolve(host: str, port: int) -> list[Any]:
        return [ip_address(a) for a in addresses]

    return resolve


async def _fetch_via(net: _FakeNet, resolver: Any, url: str, dest: Path) -> FetchedFile:
    backend = PinnedNetworkBackend(is_allowed, resolver=resolver, inner=net)
    transport = PinnedTransport(backend)
    try:
        return await _fetch(url, dest, STRICT, transport=transport)
    finally:
        await transport.aclose()


async def test_dials_the_checked_ip_with_the_hostname_in_host(dest: Path) -> None:
    net = _FakeNet()
    url = "http://images.example.com/a/b.jpg"
    got = await _fetch_via(net, _resolver("93.184.216.34"), url, dest)
    assert net.dialled == ["93.184.216.34"]
    assert b"\r\nHost: images.example.com\r\n" in net.log["sent"]
    assert (got.size, got.head, got.filename, got.content_type) == (5, b"hello", "b.jpg", "image/x")


async def test_tls_keeps_hostname_for_sni_and_verification(dest: Path) -> None:
    net = _FakeNet()
    with pytest.raises(FetchFailed, match="connection failed"):
        await _fetch_via(net, _resolver("93.184.216.34"), "https://images.example.com/x", dest)
    assert net.dialled == ["93.184.216.34"]
    assert net.log["server_hostname"] == "images.example.com"
    assert net.log["check_hostname"] is True


async def test_any_bad_record_refuses_the_host(dest: Path) -> None:
    net = _FakeNet()
    resolver = _resolver("93.184.216.34", "10.0.0.1")
    with pytest.raises(FetchFailed, match="cannot be reached from this server"):
        await _fetch_via(net, resolver, "http://rebind.example.com/x", dest)
    assert net.dialled == []


async def test_falls_back_to_next_checked_address(dest: Path) -> None:
    net = _FakeNet(refuse=frozenset({"2606:2800:220:1:248:1893:25c8:1946"}))
    resolver = _resolver("2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34")
    got = await _fetch_via(net, resolver, "http://dual.example.com/x.png", dest)
    assert net.dialled == ["2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34"]
    assert got.size == 5


async def test_unresolvable_host(dest: Path) -> None:
    async def nxdomain(host: str, port: int) -> list[Any]:
        raise HostNotFound()

    with pytest.raises(FetchFailed, match="cannot be reached from this server"):
        await _fetch_via(_FakeNet(), nxdomain, "http://nope.example/x", dest)


async def test_slow_resolver_counts_against_connect_timeout(dest: Path) -> None:
    import anyio

    async def slow(host: str, port: int) -> list[Any]:
        await anyio.sleep(10)
        return []

    settings = STRICT.model_copy(update={"connect_timeout": 0.2})
    backend = PinnedNetworkBackend(is_allowed, resolver=slow, inner=_FakeNet())
    transport = PinnedTransport(backend)
    started = time.monotonic()
    try:
        with pytest.raises(FetchFailed, match="timed out"):
            await _fetch("http://slow.example/x", dest, settings, transport=transport)
    finally:
        await transport.aclose()
    assert time.monotonic() - started < 3.0


async def test_backend_refuses_before_dialling() -> None:
    net = _FakeNet()
    backend = PinnedNetworkBackend(is_allowed, inner=net)  # the real resolver, on literals only
    for host in ("127.0.0.1", "2130706433", "0x7f.1", "::1", "::ffff:10.0.0.1", "169.254.169.254"):
        with pytest.raises(AddressNotAllowed):
            await backend.connect_tcp(host, 80, timeout=1.0)
    with pytest.raises(AddressNotAllowed):
        await backend.connect_unix_socket("/var/run/docker.sock")
    assert net.dialled == []


# -- the address policy -------------------------------------------------------------------------

REFUSED = [
    # IPv4 special ranges
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "100.100.100.200",
    "127.0.0.1",
    "127.0.0.2",
    "127.255.255.255",
    "169.254.0.1",
    "169.254.169.254",
    "169.254.170.2",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.0.192",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.0.1",
    "192.168.255.255",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "233.252.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.254",
    "255.255.255.255",
    "168.63.129.16",
    # IPv6 special ranges
    "::",
    "::1",
    "::2",
    "::127.0.0.1",
    "::8.8.8.8",
    "fc00::1",
    "fd00::1",
    "fd00:ec2::254",
    "fd20:ce::254",
    "fe80::1",
    "febf::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
    "64:ff9b:1::1",
    "2001:db8::1",
    "3fff::1",
    "2001::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:10::1",
    "4000::1",
    "e000::1",
    # IPv6 forms embedding a refused IPv4 address
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::ffff:255.255.255.255",
    "::ffff:0:127.0.0.1",
    "::ffff:0:10.1.2.3",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::10.0.0.1",
    "64:ff9b::c0a8:1",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:101::",
]
ALLOWED = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.1",
    "223.255.255.254",
    "11.0.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_policy_refuses(address: str) -> None:
    assert is_allowed(ip_address(address)) is False


@pytest.mark.parametrize("address", ALLOWED)
def test_policy_allows(address: str) -> None:
    assert is_allowed(ip_address(address)) is True


def test_scoped_ipv6_refused() -> None:
    assert is_allowed(ip_address("fe80::1%eth0")) is False


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("::1", True),
        ("fd12::1", True),
        ("8.8.8.8", True),
        ("0.0.0.0", False),
        ("::", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("255.255.255.255", False),
        ("169.254.169.254", False),
        ("::ffff:169.254.169.254", False),
        ("fd00:ec2::254", False),
        ("100.100.100.200", False),
    ],
)
def test_relaxed_policy(address: str, expected: bool) -> None:
    assert is_connectable(ip_address(address)) is expected


# -- filenames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/a/b/cat.jpg", "cat.jpg"),
        ("http://h/a/b/cat%20pic.jpg?x=/y.png", "cat pic.jpg"),
        ("http://h/", None),
        ("http://h", None),
        ("http://h/dir/", None),
        ("http://h/%2e%2e", None),
        ("http://h/a%2F..%2Fetc%2Fpasswd", "a_.._etc_passwd"),
        ("http://h/a%5Cb.png", "a_b.png"),
        ("http://h/x%00y%0A.png", "xy.png"),
        ("http://h/%E2%9C%93.png", "\u2713.png"),
        ("http://h/%ff.png", "\ufffd.png"),
    ],
)
def test_filename(url: str, expected: str | None) -> None:
    assert sanitise_filename(httpx.URL(url)) == expected


def test_long_filename_keeps_extension() -> None:
    name = sanitise_filename(httpx.URL("http://h/" + "a" * 400 + ".jpeg"))
    assert name is not None
    assert len(name) == 255
    assert name.endswith("a.jpeg")
    plain = sanitise_filename(httpx.URL("http://h/" + "b" * 400))
    assert plain == "b" * 255
