"""End-to-end fixtures: a real ``imgpro serve`` process and Debian's Chromium via Playwright.

The server runs on a random loopback port with a temporary data directory (SQLite + local
blobs, the embedded default). Chromium is the system's ``/usr/bin/chromium`` — never a
downloaded browser. Without it these tests skip with the reason, unless
``IMGPRO_TEST_REQUIRE_SERVICES=1`` (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path(os.environ.get("IMGPRO_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_browser() -> None:
    if not CHROMIUM.exists():
        reason = (
            f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium; "
            "`make test` installs it when run as root)"
        )
    elif importlib.util.find_spec("playwright") is None:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    else:
        return
    if os.environ.get("IMGPRO_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``imgpro serve`` on 127.0.0.1:<random port>; yields its base URL."""
    _require_browser()
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
    env.update(
        {
            "IMGPRO_DATA_DIR": str(data_dir),
            "IMGPRO_PUBLIC_BASE_URL": base,
            "IMGPRO_SECRET_KEY": "e2e-secret-key",
            "PYTHONUNBUFFERED": "1",
            # On for the 500 check below (off by default for speed).
            "IMGPRO_ACCESS_LOG": "true",
        }
    )
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imgpro.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"imgpro serve exited early:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"imgpro serve did not answer:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.wait()
    # No request may ever have answered 500: uvicorn's access log has a line per response.
    assert '" 500 ' not in log_path.read_text(), log_path.read_text()


@pytest.fixture
def api(live_server: str) -> Iterator[httpx.Client]:
    """A plain HTTP client of the live server, beside the browser (closed after the test)."""
    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def browser(live_server: str) -> Iterator[Any]:
    """Module-scoped on purpose: Playwright's sync API keeps an event loop running in this
    thread while it is open, and the async tests that xdist may schedule next on this worker
    need the thread free. Leaving this module's tests closes it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
    # JavaScript errors and CSP violations show up here. (Pages that answer 401/404 on purpose
    # log "Failed to load resource"; a 500 would fail the server-log check instead.)
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors
