"""The docs in Chromium: every page renders from this server alone (no request leaves its
origin), the Swagger UI shows the operations, the transform preview works, and the quick
start's curl command works as copied."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import imagegen
from imgpro.docs.pages import GUIDES

PAGES = ["/docs", "/docs/api", *[f"/docs/{g.slug}" for g in GUIDES]]


def _same_origin_only(page: Any, live_server: str) -> list[str]:
    """Record every request; abort (and report) any that leaves the server's origin."""
    origin = urlsplit(live_server).netloc
    outside: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith("data:") or urlsplit(url).netloc == origin:
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.context.route("**/*", route)
    return outside


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_without_external_requests(page: Any, live_server: str, path: str) -> None:
    outside = _same_origin_only(page, live_server)
    response = page.goto(path)
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").first.inner_text()
    assert page.locator("nav.docs-nav a").count() == len(GUIDES) + 3
    if path == "/docs/api":
        # Swagger UI (vendored) rendered the operations of /openapi.json, with Authorize.
        page.locator(".opblock").first.wait_for()
        assert page.locator(".opblock").count() >= 10
        assert page.locator("button.authorize").count() == 1
    assert outside == []


def _loaded_size(page: Any, img: Any, width: int | None = None) -> list[int]:
    """The image's natural size once loaded (polled from here: the page's CSP forbids the
    eval that Playwright's wait_for_function needs)."""
    for _ in range(150):
        size = img.evaluate("i => i.complete ? [i.naturalWidth, i.naturalHeight] : [0, 0]")
        if size[0] and (width is None or size[0] == width):
            return list(size)
        page.wait_for_timeout(100)
    raise AssertionError(f"the preview did not load: {size}")


def test_transform_preview_builds_urls(page: Any, live_server: str) -> None:
    outside = _same_origin_only(page, live_server)
    page.goto("/docs/transforms")
    preview = page.locator("#transform-preview")
    assert _loaded_size(page, preview) == [600, 400]
    page.fill("input[name=w]", "300")
    page.fill("input[name=h]", "")
    page.select_option("select[name=format]", "webp")
    url = page.locator("#transform-url").inner_text()
    assert re.search(r"/i/\w{3}/\w{8}\.jpg\?w=300&fit=cover&format=webp$", url), url
    assert _loaded_size(page, preview, width=300)[0] == 300
    assert httpx.get(url).headers["content-type"] == "image/webp"
    assert outside == []


def test_llms_txt_and_full_come_from_the_same_sources(live_server: str) -> None:
    index = httpx.get(f"{live_server}/llms.txt")
    assert index.status_code == 200 and index.text.startswith("# imgpro")
    for guide in GUIDES:
        assert f"{live_server}/docs/{guide.slug}.md" in index.text
        md = httpx.get(f"{live_server}/docs/{guide.slug}.md")
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    full = httpx.get(f"{live_server}/llms-full.txt").text
    assert "idempotency_key_conflict" in full and "| `fit` |" in full
    assert "{{" not in full  # every placeholder filled in


def test_quickstart_curl_works_as_copied(live_server: str, tmp_path: Any) -> None:
    markdown = httpx.get(f"{live_server}/docs/quickstart.md").text
    command = re.search(r"```sh\n(.*?)\n```", markdown, re.S).group(1)  # type: ignore[union-attr]
    assert command == f'curl -s -F "file=@photo.jpg" {live_server}/v1/images'
    (tmp_path / "photo.jpg").write_bytes(imagegen.jpeg(120, 80))
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    image = json.loads(result.stdout)
    assert image["url"].startswith(f"{live_server}/i/")
    assert httpx.get(image["url"]).status_code == 200
