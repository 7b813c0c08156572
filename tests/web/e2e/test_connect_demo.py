"""App mode end to end in real Chromium: examples/connect_demo (its own process and port) →
imgpro's hosted login (sign up) → back with a code → exchange → upload on the user's behalf →
the image shows in the demo app and is counted on the user's /billing page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import imagegen

from .conftest import _free_port
from .support import PASSWORD, ROOT, new_email, shot, sign_up


def register_app(page: Any, demo_base: str) -> tuple[str, str]:
    """A developer on the free plan (one app) registers the demo at /apps; returns (app id,
    secret)."""
    sign_up(page, new_email("developer"))
    page.goto("/apps")
    shot(page, "apps-free")
    page.get_by_label("Name (shown to your users)").fill("PhotoShare")
    page.get_by_label("Redirect URIs, one per line").fill(f"{demo_base}/callback")
    page.get_by_role("button", name="Register app").click()
    app_id = page.locator("#new-app-id").input_value()
    secret = page.locator("#new-app-secret").input_value()
    assert secret.startswith("img_sk_live_") and len(app_id) == 8
    # The free plan's one app is taken: the page now offers the upgrade instead of the form.
    assert page.locator("#apps-upgrade").is_visible()
    shot(page, "apps-registered")
    return app_id, secret


@pytest.fixture
def demo(live_server: str) -> Iterator[dict[str, Any]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    holder: dict[str, Any] = {"base": base, "proc": None}

    def start(app_id: str, secret: str) -> None:
        env = {
            **os.environ,
            "DEMO_IMGPRO_URL": live_server,
            "DEMO_APP_ID": app_id,
            "DEMO_APP_SECRET": secret,
            "DEMO_BASE_URL": base,
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "examples.connect_demo.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        holder["proc"] = proc
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base, timeout=1)
                return
            except httpx.HTTPError:
                assert proc.poll() is None, "the demo app exited"
                assert time.monotonic() < deadline, "the demo app did not start"
                time.sleep(0.1)

    holder["start"] = start
    yield holder
    if holder["proc"] is not None:
        holder["proc"].terminate()
        holder["proc"].wait(timeout=10)


def test_connect_demo_end_to_end(
    browser: Any, live_server: str, demo: dict[str, Any], tmp_path: Any
) -> None:
    developer = browser.new_context(base_url=live_server)
    app_id, secret = register_app(developer.new_page(), demo["base"])
    developer.close()
    demo["start"](app_id, secret)

    # A different person, in a fresh browser, uses the demo app.
    user = browser.new_context()
    user.set_default_timeout(15_000)
    page = user.new_page()
    page.goto(demo["base"])
    page.get_by_role("link", name="Connect img.pro").click()
    page.wait_for_url(re.compile(re.escape(live_server) + r"/connect\?"))
    assert page.get_by_role("heading", name="Continue to PhotoShare").is_visible()
    shot(page, "connect-signed-out")
    page.locator("#connect-signup").click()
    email = new_email("enduser")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(re.escape(live_server) + r"/connect\?"))
    shot(page, "connect-continue")
    page.get_by_role("button", name="Continue to PhotoShare").click()
    page.wait_for_url(demo["base"] + "/")
    assert page.locator("#who").inner_text() == email
    assert page.locator("#count").inner_text() == "0"

    photo = tmp_path / "holiday.png"
    photo.write_bytes(imagegen.png(300, 200))
    page.set_input_files("#file", str(photo))
    page.get_by_role("button", name="Upload to img.pro").click()
    page.wait_for_url(demo["base"] + "/")
    assert page.locator("#count").inner_text() == "1"
    assert page.get_by_role("img", name="holiday.png").is_visible()
    shot(page, "connect-demo-uploaded")

    # On imgpro, the person sees the app and its workspace's usage on /billing.
    page.goto(f"{live_server}/billing")
    card = page.locator(".connected-app")
    assert "PhotoShare" in card.inner_text()
    assert card.locator(".conn-images").inner_text() == "1"
    assert "1 of 100" in card.inner_text()
    shot(page, "billing-connected-app")
    # Disconnecting shuts the app out at once.
    card.get_by_role("button", name="Disconnect PhotoShare").click()
    page.wait_for_url("**/billing?notice=disconnected")
    page.goto(demo["base"])
    assert "workspace_unavailable" in page.locator("[role=alert]").inner_text()
    user.close()


def test_unregistered_redirect_is_refused_on_the_imgpro_page(
    page: Any, live_server: str, demo: dict[str, Any]
) -> None:
    app_id, _ = register_app(page, demo["base"])
    evil = "https://evil.example.net/callback"
    page.goto(f"/connect?app_id={app_id}&redirect_uri={evil}&state=x")
    assert page.url.startswith(f"{live_server}/connect?")  # never redirected to evil.example.net
    assert page.get_by_role("heading", name="This link is not valid").is_visible()
