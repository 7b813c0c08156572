"""Helpers for the browser tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


_emails = iter(range(1, 10_000))


def new_email(tag: str) -> str:
    return f"{tag}-{os.getpid()}-{next(_emails)}@example.com"


def sign_up(page: Any, email: str, *, screenshot: str | None = None) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if screenshot:
        shot(page, screenshot)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/dashboard?notice=welcome")


def images_loaded(page: Any) -> None:
    """Wait until every <img> on the page has loaded with real pixels (no eval: the pages'
    CSP forbids it, so no string-expression wait_for_function)."""
    for img in page.locator("img").all():
        img.scroll_into_view_if_needed()
        for _ in range(100):
            if img.evaluate("i => i.complete && i.naturalWidth > 0"):
                break
            page.wait_for_timeout(50)
        else:
            raise AssertionError(f"image did not load: {img.get_attribute('src')}")
