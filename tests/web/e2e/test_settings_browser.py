"""Signed transforms in real Chromium: turn on, copy the secret once, sign, rotate, turn off."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgpro.transforms.signing import sign

from .support import new_email, shot, sign_up

pytestmark = pytest.mark.slow

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "images"


def make_key(page: Any) -> str:
    page.goto("/keys")
    page.get_by_label("Name").fill("signer")
    page.get_by_role("checkbox", name=re.compile("^Write")).set_checked(True)
    page.get_by_role("button", name="Create key").click()
    return str(page.locator("#new-key-value").input_value())


def test_signed_transforms_from_the_dashboard(page: Any, api: httpx.Client) -> None:
    sign_up(page, new_email("signing"))
    key = make_key(page)
    photo = (PHOTOS / "Landscape_1.jpg").read_bytes()
    image = api.post(
        "/v1/images", headers={"Authorization": f"Bearer {key}"}, files={"file": ("a.jpg", photo)}
    ).json()
    path = httpx.URL(image["url"]).path

    # The nav links to the settings page; signing starts off.
    page.goto("/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.wait_for_url("**/settings")
    assert "Signed transforms are off" in page.locator("#signing-state").inner_text()
    assert page.get_by_role("link", name="Rotate secret").count() == 0

    # Turn it on: the secret is shown this once.
    page.get_by_role("checkbox", name="Require signed transform URLs").check()
    page.get_by_role("button", name="Save").click()
    secret = page.locator("#signing-secret-value").input_value()
    assert secret.startswith("img_sig_")
    assert "on" in page.locator("#signing-state").inner_text()
    shot(page, "settings-secret")
    assert api.get(f"{path}?w=300").status_code == 403
    assert api.get(f"{path}?size=s").status_code == 200
    signed = api.get(f"{path}?w=300&s={sign(secret, path, [('w', '300')])}")
    assert signed.status_code == 200 and signed.headers["content-type"] == "image/jpeg"
    page.goto("/settings")
    assert secret not in page.content()  # never again

    # Rotate (the confirm dialog): a new secret, the old signature stops working.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Rotate secret").click()
    page.locator("#signing-secret-value").wait_for()
    rotated = page.locator("#signing-secret-value").input_value()
    assert rotated.startswith("img_sig_") and rotated != secret
    assert api.get(f"{path}?w=300&s={sign(secret, path, [('w', '300')])}").status_code == 403
    assert api.get(f"{path}?w=300&s={sign(rotated, path, [('w', '300')])}").status_code == 200

    # Turn it off again.
    page.goto("/settings")
    page.get_by_role("checkbox", name="Require signed transform URLs").uncheck()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/settings?notice=off")
    assert "off" in page.locator("#signing-state").inner_text()
    assert api.get(f"{path}?w=300").status_code == 200
    shot(page, "settings")
