"""The newcomer's page fixes in real Chromium: the try-it size check before a too-large
anonymous upload, and a key created with only Read ticked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import imagegen

from .support import new_email, sign_up

pytestmark = pytest.mark.slow

ANON_MAX = 20 * 1024 * 1024  # the live server runs with the default settings


def test_try_it_refuses_a_too_large_file_before_uploading(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    page.goto("/")
    assert page.locator("#tryit-form").get_attribute("data-max-bytes") == str(ANON_MAX)
    sent: list[str] = []
    page.on(
        "request", lambda request: sent.append(request.url) if request.method == "POST" else None
    )
    # A sparse file on disk: Chromium learns its size without anyone writing 20 MB.
    big = tmp_path / "huge.png"
    with big.open("wb") as f:
        f.write(imagegen.png(32, 32))
        f.truncate(ANON_MAX + 1)
    page.locator("#tryit-file").set_input_files(str(big))
    status = page.locator("#tryit-status")
    status.get_by_role("link").wait_for()
    text = status.inner_text()
    assert "huge.png is 20.0 MB" in text and "limited to 20.0 MB" in text, text
    link = status.get_by_role("link", name="Sign up for 70 MB uploads")
    assert link.get_attribute("href") == "/signup" or link.get_attribute("href").endswith("/signup")
    assert sent == []  # nothing was uploaded
    # A file within the limit still goes through.
    page.locator("#tryit-file").set_input_files(
        files=[{"name": "small.png", "mimeType": "image/png", "buffer": imagegen.png(64, 48)}]
    )
    page.locator("#tryit-done").wait_for()
    assert any(url.endswith("/v1/images") for url in sent)


def test_a_key_with_only_read_ticked_is_read_only(page: Any, live_server: str) -> None:
    sign_up(page, new_email("readonly"))
    page.goto("/keys")
    read_box = page.get_by_role("checkbox", name=re.compile("^Read"))
    write_box = page.get_by_role("checkbox", name=re.compile("^Write"))
    assert read_box.is_checked() and not write_box.is_checked()  # least privilege
    page.get_by_label("Name").fill("viewer only")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-value").input_value()
    row = page.locator("tr", has_text="viewer only")
    assert row.locator("td[data-label=Abilities]").inner_text().strip() == "read"
    auth = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=live_server, timeout=30) as api:
        assert api.get("/v1/images", headers=auth).status_code == 200
        denied = api.post(
            "/v1/images", headers=auth, files={"file": ("a.png", imagegen.png(8, 8), "image/png")}
        )
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
