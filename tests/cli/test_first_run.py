"""A newcomer's first run: ``imgpro serve --port N`` with nothing configured, in an empty
directory, browsed as ``localhost`` and as ``127.0.0.1`` (SPEC §1). Real server processes,
real HTTP, real cookies; the forms are followed where their ``action`` points, as a browser
would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

import imagegen

from . import serving

pytestmark = pytest.mark.slow

READY = re.compile(r"imgpro is ready on (\S+)")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FORM = re.compile(r'<form[^>]*\baction="([^"]*)"', re.S)
PASSWORD = "first-run-password"


def bare_env() -> dict[str, str]:
    """The environment of someone who configured nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Server:
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready_at: float | None = None
    base: str | None = None
    reader: threading.Thread | None = None

    def read(self) -> None:
        assert self.proc.stdout is not None
        # This thread owns the pipe: it reads to the end (the server exited) and closes it.
        with self.proc.stdout as stdout:
            for line in stdout:
                self.lines.append(line)
                m = READY.search(line)
                if m and self.base is None:
                    self.base = m.group(1)
                    # Checked at once, in this thread: the banner promises a server that
                    # answers.
                    self.ready_at = time.monotonic()
                    self.answered = httpx.get(f"{self.base}/favicon.ico", timeout=5).status_code

    def wait_ready(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while self.base is None:
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "no banner:\n" + "".join(self.lines)
            time.sleep(0.05)
        while not hasattr(self, "answered"):
            time.sleep(0.01)
        return self.base

    def output(self) -> str:
        return "".join(self.lines)


def start(cwd: Path, *args: str) -> Server:
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgpro.cli", "serve", *args],
        cwd=cwd,
        env=bare_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(proc)
    server.reader = threading.Thread(target=server.read, daemon=True)
    server.reader.start()
    return server


def stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover
        server.proc.kill()
        server.proc.wait()
    drained(server)


def drained(server: Server) -> None:
    """Wait for the reader to see the end of the output (and close the pipe)."""
    assert server.reader is not None
    server.reader.join(timeout=20)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    """`imgpro serve --port N --workers 2` in an empty directory, nothing configured."""
    cwd = tmp_path_factory.mktemp("newcomer")
    port = serving.free_port()
    server = start(cwd, "--port", str(port), "--workers", "2")
    try:
        base = server.wait_ready()
        assert server.answered == 200  # the banner came only once the server answered
        yield base, port, cwd
    finally:
        stop(server)
    assert '" 500 ' not in server.output()


def test_banner_and_links_name_the_port_actually_served(first_run):
    base, port, cwd = first_run
    assert base == f"http://127.0.0.1:{port}"
    assert (cwd / "imgpro-data" / "imgpro.db").is_file()  # serve creates the default store
    r = httpx.post(
        f"{base}/v1/images", files={"file": ("p.png", imagegen.png(400, 300), "image/png")}
    )
    assert r.status_code == 201, r.text
    image = r.json()
    assert image["url"].startswith(f"{base}/i/")
    assert image["page_url"] == f"{base}/{image['id']}"
    assert image["sizes"] and all(
        s["url"].startswith(f"{base}/i/") for s in image["sizes"].values()
    )
    assert httpx.get(image["url"]).status_code == 200
    assert httpx.get(image["page_url"]).status_code == 200


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_pages_link_to_where_they_are_served(first_run, host):
    _, port, _ = first_run
    origin = f"http://{host}:{port}"
    for path in ("/", "/signup", "/login", "/docs", "/pricing"):
        r = httpx.get(origin + path)
        assert r.status_code == 200, path
        assert ":8000" not in r.text, path
        for url in re.findall(r'(?:href|src|action|data-api)="([^"]+)"', r.text):
            resolved = urljoin(origin + path, url)
            if resolved.startswith("http"):
                # Every link stays on this server (the host the browser used, or the address
                # served), never on another port.
                assert resolved.startswith((origin, f"http://127.0.0.1:{port}")), (path, url)
    home = httpx.get(origin + "/").text
    assert f"curl -F file=@photo.jpg http://127.0.0.1:{port}/v1/images" in home
    assert 'data-api="/v1/images"' in home  # the try-it upload stays on this origin
    first = httpx.get(f"{origin}/favicon.ico")  # a first visit: no 404
    assert first.status_code == 200 and first.headers["content-type"] == "image/x-icon"


def _follow_form(client: httpx.Client, page_url: str, data: dict[str, str]) -> httpx.Response:
    """Submit the page's first form the way a browser does: to its action, resolved against
    the page's URL, with this browser's cookies and the page's CSRF token."""
    page = client.get(page_url)
    assert page.status_code == 200
    action = urljoin(page_url, _FORM.search(page.text).group(1))
    token = _CSRF.search(page.text).group(1)
    return client.post(action, data={"csrf_token": token, **data})


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_sign_up_log_in_and_try_it_under_either_host_name(first_run, host):
    _, port, _ = first_run
    origin = f"http://{host}:{port}"
    email = f"newcomer-{host.replace('.', '-')}-{os.getpid()}@example.com"
    with httpx.Client(timeout=30) as browser:
        r = _follow_form(browser, f"{origin}/signup", {"email": email, "password": PASSWORD})
        assert r.status_code == 303, r.text  # not 403 "This form has expired"
        assert r.headers["location"] == "/dashboard?notice=welcome"
        dashboard = browser.get(urljoin(origin, r.headers["location"]))
        assert dashboard.status_code == 200 and email in dashboard.text

        r = _follow_form(browser, f"{origin}/logout", {})
        assert r.status_code == 303
        r = _follow_form(browser, f"{origin}/login", {"email": email, "password": PASSWORD})
        assert r.status_code == 303, r.text
        assert browser.get(f"{origin}/dashboard").status_code == 200

    with httpx.Client(timeout=30) as anonymous:
        page = anonymous.get(f"{origin}/")
        action = urljoin(f"{origin}/", _FORM.search(page.text).group(1))
        assert action == f"{origin}/try"
        r = anonymous.post(
            action,
            data={"csrf_token": _CSRF.search(page.text).group(1)},
            files={"file": ("p.png", imagegen.png(64, 48), "image/png")},
        )
        assert r.status_code == 303, r.text
        result = anonymous.get(urljoin(action, r.headers["location"]))
        assert result.status_code == 200 and "expires" in result.text


def test_the_session_of_one_host_name_is_not_sent_to_the_other(first_run):
    """The two names are two origins to a browser: each keeps its own cookies, and neither
    name's forms send the browser to the other (that was "This form has expired")."""
    _, port, _ = first_run
    with httpx.Client(timeout=30) as browser:
        email = f"two-names-{os.getpid()}@example.com"
        r = _follow_form(
            browser, f"http://localhost:{port}/signup", {"email": email, "password": PASSWORD}
        )
        assert r.status_code == 303
        # Another origin: not signed in there (cookies are per host), as in a real browser.
        assert browser.get(f"http://127.0.0.1:{port}/dashboard").status_code == 303
        # A form posted to the other name without its cookie is refused, not accepted.
        page = browser.get(f"http://localhost:{port}/keys")
        token = _CSRF.search(page.text).group(1)
        cross = browser.post(
            f"http://127.0.0.1:{port}/keys",
            data={"csrf_token": token, "name": "x", "abilities": "read"},
        )
        assert cross.status_code == 303 and cross.headers["location"].startswith("/login")
        keys = browser.get(f"http://localhost:{port}/keys")
        assert '<td data-label="Name">x</td>' not in keys.text


def test_a_taken_port_fails_without_a_banner(tmp_path):
    with __import__("socket").socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start(tmp_path, "--port", str(port), "--workers", "1")
        try:
            server.proc.wait(timeout=60)
        finally:
            if server.proc.poll() is None:  # pragma: no cover
                stop(server)
        drained(server)
    assert server.proc.returncode != 0
    assert "imgpro is ready" not in server.output()
    assert "address already in use" in server.output().lower()


def test_port_zero_picks_a_free_port_and_says_which(tmp_path):
    server = start(tmp_path, "--port", "0", "--workers", "1")
    try:
        base = server.wait_ready()
        port = int(base.rsplit(":", 1)[1])
        assert port > 0
        r = httpx.post(
            f"{base}/v1/images", files={"file": ("p.png", imagegen.png(40, 30), "image/png")}
        )
        assert r.status_code == 201 and r.json()["url"].startswith(f"{base}/i/")
    finally:
        stop(server)
