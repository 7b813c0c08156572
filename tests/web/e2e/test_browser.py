"""The pages in real Chromium against a real server: the journeys of SPEC §8.

Screenshots of the main pages land in ``test-artifacts/screenshots/`` (gitignored) for a
person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from .support import images_loaded, new_email, shot, sign_up

pytestmark = pytest.mark.slow

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "images"


def create_key(page: Any, name: str, *, read: bool, write: bool) -> str:
    page.goto("/keys")
    page.get_by_label("Name").fill(name)
    read_box = page.get_by_role("checkbox", name=re.compile("^Read"))
    write_box = page.get_by_role("checkbox", name=re.compile("^Write"))
    read_box.set_checked(read)
    write_box.set_checked(write)
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-value").input_value()
    assert secret.startswith("img_live_")
    return secret


def test_key_journey_from_signup_to_cdn_404(page: Any, api: httpx.Client) -> None:
    sign_up(page, new_email("journey"), screenshot="signup")

    # A read-only key lists but may not write.
    reader = create_key(page, "reader", read=True, write=False)
    page.get_by_role("button", name="Copy").first.focus()  # the copy button is enhanced
    shot(page, "keys")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "keys-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    row = page.locator("tr", has_text="reader")
    assert "read" in row.inner_text() and "write" not in row.inner_text()
    page.reload()
    assert reader not in page.content()  # shown once, never again
    auth = {"Authorization": f"Bearer {reader}"}
    assert api.get("/v1/images", headers=auth).status_code == 200
    photo = (PHOTOS / "Landscape_1.jpg").read_bytes()
    denied = api.post("/v1/images", headers=auth, files={"file": ("a.jpg", photo)})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"

    # A read+write key uploads through the API ...
    writer = create_key(page, "writer", read=True, write=True)
    created = api.post(
        "/v1/images",
        headers={"Authorization": f"Bearer {writer}"},
        files={"file": ("mountains.jpg", photo)},
    )
    assert created.status_code == 201, created.text
    image = created.json()
    assert api.get(image["url"]).status_code == 200

    # ... and the image shows up in the dashboard, linking to its viewer page.
    page.goto("/dashboard")
    card = page.locator(f"#image-{image['id']}")
    card.wait_for()
    assert card.locator("a.thumb").get_attribute("href") == image["page_url"]
    images_loaded(page)
    shot(page, "dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    images_loaded(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dashboard-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Its viewer page.
    card.locator("a.thumb").click()
    page.wait_for_url(image["page_url"])
    images_loaded(page)
    shot(page, "viewer")
    page.go_back()

    # Delete it in the dashboard (the JS confirm dialog), then its CDN URL is gone.
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("link", name=re.compile("^Delete")).click()
    page.wait_for_url("**/dashboard?notice=deleted")
    assert page.locator(f"#image-{image['id']}").count() == 0
    assert api.get(image["url"]).status_code == 404
    assert api.get(f"/v1/images/{image['id']}", headers=auth).status_code == 404


def test_dashboard_uploads_several_files_with_progress(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    sign_up(page, new_email("multi"))
    files = [PHOTOS / "Portrait_1.jpg", PHOTOS / "Landscape_3.jpg", PHOTOS / "Canon_40D.jpg"]
    page.locator("#dash-files").set_input_files([str(f) for f in files])
    with page.expect_navigation(url=re.compile(r"notice=uploaded&n=3")):
        page.get_by_role("button", name="Upload", exact=True).click()
        page.locator("#upload-list progress").first.wait_for(state="attached")
    assert page.locator("#image-grid li").count() == 3
    assert "Uploaded 3 images." in page.locator(".notice").inner_text()
    usage = page.locator(".usage-bars").first.inner_text()
    assert "3 of 5000" in usage and "3 of 1000" in usage  # images stored, uploads this month
    images_loaded(page)
    shot(page, "dashboard-after-upload")

    # A file that is not an image fails on its own line; the others still go through.
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    page.locator("#dash-files").set_input_files([str(PHOTOS / "Landscape_8.jpg"), str(notes)])
    page.get_by_role("button", name="Upload", exact=True).click()
    summary = page.locator("#upload-list li.summary")
    summary.wait_for()
    assert "1 uploaded, 1 failed" in summary.inner_text()
    failed = page.locator("#upload-list li.failed")
    assert "notes.txt" in failed.inner_text() and "Unsupported file type" in failed.inner_text()
    assert page.locator("#upload-list li.ok progress").get_attribute("value") == "100"
    shot(page, "dashboard-upload-list", full_page=False)


def test_try_it_on_the_home_page(page: Any, browser: Any, live_server: str) -> None:
    page.goto("/")
    shot(page, "home-empty")
    page.locator("#tryit-file").set_input_files(str(PHOTOS / "Landscape_6.jpg"))
    done = page.locator("#tryit-done")
    done.wait_for()
    url = page.locator("#result-url").input_value()
    assert re.match(rf"{re.escape(live_server)}/i/\w{{3}}/\w{{8}}\.jpg$", url)
    assert "expires on" in page.locator("#tryit-result").inner_text()
    assert '"expires_at"' in page.locator("details.json code").inner_text()
    assert page.locator("#tryit-result").get_by_role("link", name="Sign up free").is_visible()
    images_loaded(page)
    shot(page, "home")
    assert httpx.get(url, timeout=30).status_code == 200

    # The same at phone width (a fresh page: resizing after layout confuses full-page shots).
    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    small = phone.new_page()
    small.goto("/")
    small.locator("#tryit-file").set_input_files(str(PHOTOS / "Portrait_6.jpg"))
    small.locator("#tryit-done").wait_for()
    images_loaded(small)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    shot(small, "home-phone")
    phone.close()


def test_upgrade_through_the_signed_link(page: Any, live_server: str) -> None:
    sign_up(page, new_email("upgrade"))
    page.goto("/billing")
    assert page.locator("#current-plan").inner_text() == "Free"
    shot(page, "billing")
    page.get_by_role("link", name="Upgrade to Pro").click()
    page.wait_for_url(re.compile(r"/upgrade/pro\?t=.+&exp=\d+&sig=.+"))
    shot(page, "upgrade-confirm")
    page.get_by_role("button", name="Confirm upgrade to Pro").click()
    # The default billing provider is manual: signing up never hands out a paid plan for free;
    # the request waits for the operator (`imgpro plans approve`).
    page.wait_for_url("**/billing?notice=requested")
    assert page.locator("#current-plan").inner_text() == "Free"
    assert "An upgrade request to Pro is waiting" in page.content()


def test_pricing_docs_and_login_pages(page: Any, live_server: str) -> None:
    page.goto("/pricing")
    assert page.locator(".plan").count() == 3
    shot(page, "pricing")
    page.goto("/docs")
    assert page.get_by_role("link", name="/docs/api").first.is_visible()
    shot(page, "docs")
    page.goto("/login")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert "Email or password is incorrect." in page.locator(".error").inner_text()
    shot(page, "login-failed")


def test_the_pages_work_without_javascript(browser: Any, live_server: str) -> None:
    context = browser.new_context(
        base_url=live_server, java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    # Try-it: a plain form post, then the result page (post/redirect/get).
    page.goto("/")
    page.locator("#tryit-file").set_input_files(str(PHOTOS / "image01137.jpg"))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r"/try/[a-z0-9]{8}\?sig="))
    assert "expires on" in page.locator("main").inner_text()
    assert page.locator("#result-url").input_value().startswith(f"{live_server}/i/")
    assert page.get_by_role("button", name="Copy").first.is_hidden()  # needs JavaScript

    # Sign up, upload two files in one form, delete one through the confirmation page.
    sign_up(page, new_email("nojs"))
    page.locator("#dash-files").set_input_files(
        [str(PHOTOS / "image01551.jpg"), str(PHOTOS / "Portrait_6.jpg")]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url("**/dashboard?notice=uploaded&n=2")
    assert page.locator("#image-grid li").count() == 2
    page.locator("#image-grid li").first.get_by_role("link", name=re.compile("^Delete")).click()
    page.wait_for_url(re.compile(r"/dashboard/images/[a-z0-9]{8}/delete$"))
    shot(page, "delete-confirm")
    page.get_by_role("button", name="Delete image").click()
    page.wait_for_url("**/dashboard?notice=deleted")
    assert page.locator("#image-grid li").count() == 1
    context.close()
