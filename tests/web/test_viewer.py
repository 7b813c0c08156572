"""The viewer page ``/{id}``: image, srcset, facts, expiry, Open Graph, copy links, 404s."""

from __future__ import annotations

import html
import re

import pytest
import pyvips

import imagegen
from factories import make_account, upload
from imgpro.images import repository as repo
from imgpro.web.routes import ROUTERS, viewer


async def new_image(client, data=None, headers=None, **fields):
    r = await upload(client, data or imagegen.jpeg(900, 600), headers=headers or {}, **fields)
    assert r.status_code == 201, r.text
    return r.json()


def meta(page: str, key: str) -> str | None:
    m = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', page)
    return html.unescape(m[1]) if m else None


def attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\s{name}="([^"]*)"', tag)
    return html.unescape(m[1]) if m else None


def main_image(page: str) -> str:
    m = re.search(r"<figure>.*?(<img [^>]*>)", page, re.S)
    assert m, "no image on the page"
    return m[1]


async def test_viewer_page(client):
    image = await new_image(client, caption='Dusk over the "bay" <3', filename="dusk.jpg")
    r = await client.get(f"/{image['id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    img = main_image(page)
    sizes = image["sizes"]
    assert attr(img, "src") == sizes["medium"]["url"]
    assert (attr(img, "width"), attr(img, "height")) == (
        str(sizes["medium"]["width"]),
        str(sizes["medium"]["height"]),
    )
    srcset = attr(img, "srcset")
    widths = [int(c.split()[1].removesuffix("w")) for c in srcset.split(", ")]
    assert widths == sorted(set(widths))  # one candidate per width, smallest first
    assert set(widths) == {s["width"] for s in sizes.values()} | {image["width"]}
    assert f"{sizes['small']['url']} {sizes['small']['width']}w" in srcset
    assert attr(img, "sizes") and attr(img, "alt") == image["caption"]
    # Caption (escaped), size, format.
    assert "<figcaption>Dusk over the &#34;bay&#34; &lt;3</figcaption>" in page
    assert "<3" not in page.replace("&lt;3", "")
    assert "900×600" in page and "JPG" in page
    # Open Graph and Twitter cards point at the social size.
    assert meta(page, "og:image") == f"{image['url']}?size=social"
    assert (meta(page, "og:image:width"), meta(page, "og:image:height")) == ("1200", "630")
    assert meta(page, "og:title") == image["caption"]
    assert meta(page, "og:url") == image["page_url"]
    assert meta(page, "twitter:card") == "summary_large_image"
    assert meta(page, "twitter:image") == f"{image['url']}?size=social"
    assert f'<link rel="canonical" href="{image["page_url"]}">' in page
    # Copy links work without JavaScript (selectable fields); buttons appear with it.
    for field_id, value in [("link-direct", image["url"]), ("link-page", image["page_url"])]:
        m = re.search(rf'<input type="text" id="{field_id}" value="([^"]*)" readonly', page)
        assert m and html.unescape(m[1]) == value
        assert f'data-copy="#{field_id}" hidden' in page
    embed = re.search(r'id="link-html" value="([^"]*)"', page)
    assert embed and html.unescape(embed[1]) == (
        f'<img src="{image["url"]}" alt="Dusk over the &quot;bay&quot; &lt;3">'
    )
    assert '<script src="/static/copy.js" defer></script>' in page
    assert "content-security-policy" in r.headers  # the pages' strict CSP: no inline script
    assert "<script>" not in page and " style=" not in page


async def test_og_image_serves_exactly_the_social_size(client):
    image = await new_image(client)
    page = (await client.get(f"/{image['id']}")).text
    r = await client.get(meta(page, "og:image").removeprefix("http://testserver"))
    im = pyvips.Image.new_from_buffer(r.content, "")
    assert (im.width, im.height) == (1200, 630)


async def test_expiry_notice_only_for_expiring_images(client, services):
    anon = await new_image(client)
    page = (await client.get(f"/{anon['id']}")).text
    assert "expires on" in page and anon["expires_at"] in page
    acct = await make_account(services)
    kept = await new_image(client, headers=acct["headers"])
    assert kept["expires_at"] is None
    assert "expires on" not in (await client.get(f"/{kept['id']}")).text


async def test_not_transformable_images_have_no_srcset(client):
    image = await new_image(client, imagegen.svg(), filename="logo.svg")
    page = (await client.get(f"/{image['id']}")).text
    img = main_image(page)
    assert attr(img, "src") == image["url"] and attr(img, "srcset") is None
    assert meta(page, "og:image") == image["url"]
    assert meta(page, "og:image:width") is None


async def test_head(client):
    image = await new_image(client)
    r = await client.head(f"/{image['id']}")
    assert r.status_code == 200 and r.content == b""


def _is_not_found_page(r) -> bool:
    return (
        r.status_code == 404
        and r.headers["content-type"].startswith("text/html")
        and "Not found" in r.text
    )


async def test_missing_expired_deleted_and_private_images_are_404_pages(client, services, clock):
    assert _is_not_found_page(await client.get("/zz99zz99"))
    acct = await make_account(services)
    private = await new_image(client, headers=acct["headers"])
    await client.patch(
        f"/v1/images/{private['id']}", headers=acct["headers"], json={"public": False}
    )
    assert _is_not_found_page(await client.get(f"/{private['id']}"))
    deleted = await new_image(client, headers=acct["headers"])
    await client.delete(f"/v1/images/{deleted['id']}", headers=acct["headers"])
    assert _is_not_found_page(await client.get(f"/{deleted['id']}"))
    expiring = await new_image(client)
    assert (await client.get(f"/{expiring['id']}")).status_code == 200
    clock.advance(days=31)
    assert _is_not_found_page(await client.get(f"/{expiring['id']}"))


async def test_visibility_is_decided_by_one_hook(client, services, monkeypatch):
    acct = await make_account(services)
    image = await new_image(client, headers=acct["headers"])
    await client.patch(f"/v1/images/{image['id']}", headers=acct["headers"], json={"public": False})
    # The rule lives in the images repository: open it to every visitor and the page shows.
    monkeypatch.setattr(repo, "on_page", lambda visitor, now: repo.live(now))
    assert (await client.get(f"/{image['id']}")).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/abcdefgh",
        "/abc12345x",
        "/abc1234",
        "/ABC12345",
        "/abc-2345",
        "/abc12345.jpg",
        "/abc12345/more",
    ],
)
async def test_only_image_ids_reach_the_viewer(client, path):
    r = await client.get(path)
    assert r.status_code == 404


async def test_viewer_never_shadows_named_pages(client):
    assert ROUTERS[-1] is viewer.router  # mounted last
    for path in ("/pricing", "/login", "/signup", "/docs"):
        r = await client.get(path)
        assert r.status_code == 200, path
    pattern = re.compile(viewer.IMAGE_ID_PATTERN)
    for route in (r for router in ROUTERS[:-1] for r in router.routes):
        name = getattr(route, "path", "").strip("/")
        assert not pattern.fullmatch(name), name
