"""Email-code sign-in in real Chromium against a real ``imgpro serve`` whose outbox worker
sends through a real SMTP server (aiosmtpd, in this test process): on ``/login``, and through an
app's hosted login ``/connect`` → "Continue to <App>" → the app's callback → code exchange. The
app sees neither a password nor the emailed code."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from imgpro.accounts.passwords import PasswordHasher
from imgpro.accounts.service import AccountService
from imgpro.apps.service import AppService
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.settings import Settings
from mail.smtp import SmtpServer, code_in

from .conftest import _free_port
from .support import new_email, shot


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[dict[str, Any]]:
    """An SMTP server, and ``imgpro serve`` configured to send through it."""
    tmp = tmp_path_factory.mktemp("mail-e2e")
    smtp = SmtpServer(tmp).start()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
    env.update(
        {
            "IMGPRO_DATA_DIR": str(tmp / "data"),
            "IMGPRO_PUBLIC_BASE_URL": base,
            "IMGPRO_SECRET_KEY": "e2e-mail-key",
            "IMGPRO_SMTP__URL": smtp.url,
            "IMGPRO_ACCESS_LOG": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_path = tmp / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgpro.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{base}/", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            yield {
                "base": base,
                "smtp": smtp,
                "db_url": f"sqlite+aiosqlite:///{(tmp / 'data' / 'imgpro.db').resolve()}",
            }
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            smtp.stop()
    assert '" 500 ' not in log_path.read_text(), log_path.read_text()


def test_code_sign_in_on_login(browser: Any, mail_stack: dict[str, Any]) -> None:
    context = browser.new_context(base_url=mail_stack["base"])
    page = context.new_page()
    email = new_email("code")
    page.goto("/login")
    page.locator("#code-email").fill(email)
    page.get_by_role("button", name="Email me a code").click()
    page.wait_for_url("**/login/code")
    message = mail_stack["smtp"].inbox.wait_for(email)
    page.get_by_label("Code").fill(code_in(message))
    shot(page, "login-code")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.goto("/account")
    assert page.locator("#account-email").inner_text() == email
    assert page.locator("#email-status").inner_text() == "verified"

    # The same code in another browser (a fresh context) does nothing.
    other = browser.new_context(base_url=mail_stack["base"]).new_page()
    other.goto("/login/code")
    assert other.locator("#code").count() == 0  # nothing waits for this browser
    context.close()


class _Callback(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        _Callback.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<!doctype html><title>PhotoShare</title><h1>Back in PhotoShare</h1>")

    def log_message(self, *args: Any) -> None:
        pass


def _register_app(db_url: str, redirect_uri: str) -> tuple[str, str]:
    async def work() -> tuple[str, str]:
        db = Database(db_url)
        try:
            accounts = AccountService(db, Clock(), PasswordHasher(Settings().passwords))
            owner = await accounts.create_user(new_email("owner"), "owner passphrase")
            app, secret = await AppService(db).register(
                owner_user_id=owner.id,
                name="PhotoShare",
                redirect_uris=[redirect_uri],
                now=Clock().now(),
            )
            return app.id, secret
        finally:
            await db.dispose()

    # Playwright's sync API keeps an event loop running in this thread: use another.
    result: list[tuple[str, str]] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(work())))
    thread.start()
    thread.join()
    return result[0]


def test_code_sign_in_through_connect(browser: Any, mail_stack: dict[str, Any]) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redirect_uri = f"http://127.0.0.1:{server.server_port}/callback"
    try:
        app_id, secret = _register_app(mail_stack["db_url"], redirect_uri)
        page = browser.new_context(base_url=mail_stack["base"]).new_page()
        email = new_email("enduser")
        page.goto(
            "/connect?"
            + urlencode({"app_id": app_id, "redirect_uri": redirect_uri, "state": "s-42"})
        )
        page.locator("#code-email").fill(email)
        page.locator("#connect-send-code").click()
        page.wait_for_url(
            lambda url: "/login/code?next=%2Fconnect" in url or "/login/code?next=/connect" in url
        )
        code = code_in(mail_stack["smtp"].inbox.wait_for(email))
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: urlsplit(url).path == "/connect")
        shot(page, "connect-after-code")
        page.get_by_role("button", name="Continue to PhotoShare").click()
        page.wait_for_url(lambda url: url.startswith(redirect_uri + "?"))
        query = parse_qs(urlsplit(page.url).query)
        assert query["state"] == ["s-42"] and code not in page.url
        r = httpx.post(
            f"{mail_stack['base']}/v1/connect/exchange",
            headers={"Authorization": f"Bearer {secret}"},
            json={"code": query["code"][0], "redirect_uri": redirect_uri},
        )
        assert r.status_code == 200 and r.json()["email"] == email
        assert all(code not in p for p in _Callback.seen)
        notice = mail_stack["smtp"].inbox.wait_for(email, 2)
        assert "PhotoShare was connected" in notice["Subject"]
    finally:
        server.shutdown()
        server.server_close()  # shutdown() only stops the loop; this closes the listening socket
