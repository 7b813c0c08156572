"""``?preset=`` and signed transforms on the CDN, over HTTP on both engines."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

import imagegen
from imgpro.transforms.signing import sign

from .support import decode, new_image, path_of


@pytest.fixture(autouse=True)
def no_preset_cache(services):
    """Presets are cached per process for a few seconds; most tests want every change at once
    (one test below checks the cache itself)."""
    services.settings.render.preset_cache_seconds = 0


async def account_image(client, services, data=None, filename="photo.jpg"):
    from factories import make_account

    account = await make_account(services)
    image = await new_image(
        client, data or imagegen.jpeg(120, 80), filename=filename, headers=account["headers"]
    )
    return account["headers"], image


async def variant_keys(services, image) -> list[str]:
    return [k async for k in services.blobs.iter_keys(f"variants/{image['id']}/")]


def assert_signature_required(r) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["cache-control"] == "no-store"
    if r.request.method == "HEAD":
        return
    assert r.json()["error"]["type"] == "permission_error"
    assert r.json()["error"]["code"] == "signature_required"
    assert set(r.json()) == {"error"} and r.json()["error"]["message"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"] == "application/json"


async def signing_on(client, headers) -> str:
    r = await client.patch("/v1/settings", json={"signed_transforms": True}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["signing_secret"]


def signed(image, params: list[tuple[str, str]], secret: str) -> str:
    path = path_of(image)
    return f"{path}?{urlencode([*params, ('s', sign(secret, path, params))])}"


# -- presets ------------------------------------------------------------------------------------


async def test_preset_applies_and_url_parameters_override(client, services):
    headers, image = await account_image(client, services)
    r = await client.put(
        "/v1/presets/thumb",
        headers=headers,
        json={"w": 40, "h": 40, "fit": "cover", "format": "webp"},
    )
    assert r.status_code == 201
    r = await client.get(path_of(image, "preset=thumb"))
    assert r.status_code == 200 and "x-img-ignored" not in r.headers
    assert r.headers["content-type"] == "image/webp"
    assert (decode(r.content).width, decode(r.content).height) == (40, 40)
    r = await client.get(path_of(image, "preset=thumb&w=20&format=png"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert (decode(r.content).width, decode(r.content).height) == (20, 40)
    # the alias of an overridden name overrides too
    await client.put("/v1/presets/q", headers=headers, json={"q": 20, "w": 30})
    low = await client.get(path_of(image, "preset=q"))
    high = await client.get(path_of(image, "preset=q&quality=95"))
    assert decode(low.content).width == decode(high.content).width == 30
    assert len(high.content) > len(low.content)


async def test_preset_and_its_explicit_parameters_share_one_variant(client, services, app):
    headers, image = await account_image(client, services)
    await client.put("/v1/presets/card", headers=headers, json={"w": 50, "fit": "contain"})
    by_preset = await client.get(path_of(image, "preset=card"))
    explicit = await client.get(path_of(image, "fit=contain&w=50"))
    assert by_preset.status_code == explicit.status_code == 200
    assert by_preset.headers["etag"] == explicit.headers["etag"]
    assert by_preset.content == explicit.content
    assert len(await variant_keys(services, image)) == 1
    r = await client.get(
        path_of(image, "preset=card"), headers={"if-none-match": explicit.headers["etag"]}
    )
    assert r.status_code == 304


@pytest.mark.parametrize(
    "query",
    ["preset=nope", "preset=", "preset=Bad%20Name", "preset=nope&w=30", "preset=" + "x" * 300],
)
async def test_an_unknown_preset_is_ignored(client, services, query):
    _, image = await account_image(client, services)
    r = await client.get(path_of(image, query))
    assert r.status_code == 200
    assert r.headers["x-img-ignored"] == "preset"
    expected = 30 if "w=30" in query else 120
    assert decode(r.content).width == expected


async def test_unknown_preset_merges_with_other_ignored_names(client, services):
    _, image = await account_image(client, services)
    r = await client.get(path_of(image, "preset=nope&w=abc&zzz=1"))
    assert r.status_code == 200 and r.headers["x-img-ignored"] == "preset, w, zzz"


async def test_another_workspaces_preset_never_applies(client, services):
    theirs, _ = await account_image(client, services)
    await client.put("/v1/presets/thumb", headers=theirs, json={"w": 10})
    _, mine = await account_image(client, services)
    r = await client.get(path_of(mine, "preset=thumb"))
    assert r.status_code == 200 and r.headers["x-img-ignored"] == "preset"
    assert decode(r.content).width == 120
    # anonymous images belong to no account's workspace either
    anon = await new_image(client, imagegen.jpeg(60, 40))
    r = await client.get(path_of(anon, "preset=thumb"))
    assert r.headers["x-img-ignored"] == "preset" and decode(r.content).width == 60


async def test_repeated_preset_last_wins(client, services):
    headers, image = await account_image(client, services)
    await client.put("/v1/presets/a", headers=headers, json={"w": 10})
    await client.put("/v1/presets/b", headers=headers, json={"w": 20})
    r = await client.get(path_of(image, "preset=a&preset=b"))
    assert decode(r.content).width == 20 and r.headers["x-img-ignored"] == "preset"


async def test_preset_changes_apply_and_the_cache_is_bounded(client, services):
    services.settings.render.preset_cache_seconds = 60
    headers, image = await account_image(client, services)
    await client.put("/v1/presets/p", headers=headers, json={"w": 30})
    assert decode((await client.get(path_of(image, "preset=p"))).content).width == 30
    # A PUT through this process applies at once, cache or not.
    await client.put("/v1/presets/p", headers=headers, json={"w": 40})
    assert decode((await client.get(path_of(image, "preset=p"))).content).width == 40
    await client.delete("/v1/presets/p", headers=headers)
    r = await client.get(path_of(image, "preset=p"))
    assert r.headers["x-img-ignored"] == "preset" and decode(r.content).width == 120
    # A change this process did not make (another process or host: a direct write here) is
    # seen only after the TTL; with 60 s it is still the cached answer ...
    from imgpro.transforms import repository

    async with services.db.write() as conn:
        await repository.upsert_preset(
            conn,
            await _workspace_of(services, image),
            "p",
            {"w": "50"},
            services.clock.now(),
            limit=100,
        )
    r = await client.get(path_of(image, "preset=p"))
    assert r.headers["x-img-ignored"] == "preset"
    # ... and with the bound at 0 the next request reads it.
    services.settings.render.preset_cache_seconds = 0
    services.presets._cache.clear()  # what the TTL passing does
    assert decode((await client.get(path_of(image, "preset=p"))).content).width == 50


async def _workspace_of(services, image) -> str:
    from imgpro.db.tables import images

    async with services.db.read() as conn:
        import sqlalchemy as sa

        return (
            await conn.execute(sa.select(images.c.workspace_id).where(images.c.id == image["id"]))
        ).scalar_one()


async def test_the_preset_cache_expires_by_time(services, monkeypatch):
    """The TTL itself, without waiting: the clock the cache reads is monotonic time."""
    from imgpro.transforms import presets as presets_mod

    reads = []

    async def params(workspace_id, name):
        reads.append(name)
        return {"w": str(len(reads))}

    services.settings.render.preset_cache_seconds = 5
    monkeypatch.setattr(services.presets, "params", params)
    now = [1000.0]
    monkeypatch.setattr(presets_mod.time, "monotonic", lambda: now[0])
    assert await services.presets.for_delivery("ws", "p") == {"w": "1"}
    now[0] += 4.9
    assert await services.presets.for_delivery("ws", "p") == {"w": "1"}
    now[0] += 0.2
    assert await services.presets.for_delivery("ws", "p") == {"w": "2"}
    assert reads == ["p", "p"]
    # invalid names never reach the database
    assert await services.presets.for_delivery("ws", "Not Valid") is None
    assert reads == ["p", "p"] and ("ws", "Not Valid") not in services.presets._cache


# -- signed transforms --------------------------------------------------------------------------

OPEN = ["", "size=s", "size=m", "size=l", "size=social"]


@pytest.mark.parametrize("query", OPEN)
async def test_open_urls_stay_open_when_signing_is_on(client, services, query):
    headers, image = await account_image(client, services)
    await signing_on(client, headers)
    r = await client.get(path_of(image, query))
    assert r.status_code == 200, r.text
    head = await client.head(path_of(image, query))
    assert head.status_code == 200


async def test_the_image_objects_urls_are_valid_either_way(client, services):
    headers, image = await account_image(client, services)
    await signing_on(client, headers)
    image = (await client.get(f"/v1/images/{image['id']}", headers=headers)).json()
    urls = [image["url"], *(s["url"] for s in image["sizes"].values())]
    assert len(urls) == 4
    for url in urls:
        assert (await client.get(url.removeprefix("http://testserver"))).status_code == 200


async def test_presets_stay_open(client, services):
    headers, image = await account_image(client, services)
    await client.put("/v1/presets/thumb", headers=headers, json={"w": 30, "fit": "cover"})
    await signing_on(client, headers)
    for query in ("preset=thumb", "preset=thumb&size=s", "preset=nope"):
        assert (await client.get(path_of(image, query))).status_code == 200, query
    # a preset plus any other parameter is a new parameter set: it needs a signature
    assert_signature_required(await client.get(path_of(image, "preset=thumb&w=31")))
    r = await client.get(
        signed(image, [("preset", "thumb"), ("w", "31")], await _secret_of(services, image))
    )
    assert r.status_code == 200 and decode(r.content).width == 31


async def _secret_of(services, image) -> str:
    policy = await services.transform_policy.get(await _workspace_of(services, image))
    assert policy.secret is not None
    return policy.secret


@pytest.mark.parametrize(
    "query",
    [
        "w=50",
        "size=xl",
        "size=s&size=m",
        "size=s&w=10",
        "format=webp",
        "fit=cover",
        "zzz=1",
        "w=abc",
        "size=s&q=10",
        "preset=a&preset=b",
    ],
)
async def test_anything_else_needs_a_signature(client, services, query):
    headers, image = await account_image(client, services)
    await signing_on(client, headers)
    assert_signature_required(await client.get(path_of(image, query)))
    assert_signature_required(await client.head(path_of(image, query)))
    assert await variant_keys(services, image) == []


async def test_signed_urls_work_and_tampering_does_not(client, services):
    headers, image = await account_image(client, services)
    secret = await signing_on(client, headers)
    params = [("w", "60"), ("h", "30"), ("fit", "cover"), ("format", "webp")]
    url = signed(image, params, secret)
    r = await client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    assert (decode(r.content).width, decode(r.content).height) == (60, 30)
    assert "x-img-ignored" not in r.headers  # s is not a transform, nor ignored
    # order does not matter: the message sorts the parameters
    s = sign(secret, path_of(image), params)
    r2 = await client.get(path_of(image, f"format=webp&s={s}&fit=cover&h=30&w=60"))
    assert r2.status_code == 200 and r2.headers["etag"] == r.headers["etag"]
    assert (await client.get(url, headers={"if-none-match": r.headers["etag"]})).status_code == 304

    tampered = url.replace("w=60", "w=61")
    assert_signature_required(await client.get(tampered))
    assert_signature_required(await client.get(path_of(image, "w=60&h=30&fit=cover&format=webp")))
    assert_signature_required(await client.get(url + "&w=70"))  # an added parameter
    assert_signature_required(await client.get(url + f"&s={s}"))  # the signature twice
    assert_signature_required(await client.get(url.replace(f"s={s}", "s=" + "A" * 32)))
    assert_signature_required(await client.get(url.replace(f"s={s}", "s=")))
    # another image's path with the same parameters and signature
    other = await new_image(client, imagegen.jpeg(50, 50), headers=headers)
    assert_signature_required(
        await client.get(path_of(other, f"w=60&h=30&fit=cover&format=webp&s={s}"))
    )
    # the same image under another extension is another path
    assert_signature_required(
        await client.get(path_of(image, f"w=60&h=30&fit=cover&format=webp&s={s}", ext="png"))
    )
    # a 403 never comes from a cache: 304 needs a valid signature first
    r = await client.get(tampered, headers={"if-none-match": r.headers["etag"]})
    assert_signature_required(r)


async def test_rotating_the_secret_and_turning_signing_off(client, services):
    headers, image = await account_image(client, services)
    secret = await signing_on(client, headers)
    params = [("w", "44")]
    assert (await client.get(signed(image, params, secret))).status_code == 200
    workspace = await _workspace_of(services, image)
    new_secret = await services.transform_policy.rotate_secret(workspace)
    assert new_secret != secret
    # a settings change applies to the very next request (never cached)
    assert_signature_required(await client.get(signed(image, params, secret)))
    assert (await client.get(signed(image, params, new_secret))).status_code == 200
    r = await client.patch("/v1/settings", json={"signed_transforms": False}, headers=headers)
    assert r.status_code == 200 and r.json().get("signing_secret") is None
    r = await client.get(path_of(image, "w=45"))
    assert r.status_code == 200 and decode(r.content).width == 45
    # a stray s= with signing off is not a transform and not listed as ignored
    r = await client.get(path_of(image, "w=45&s=junk"))
    assert r.status_code == 200 and "x-img-ignored" not in r.headers
    # on again: the secret kept, no new one shown
    r = await client.patch("/v1/settings", json={"signed_transforms": True}, headers=headers)
    assert r.json().get("signing_secret") is None
    assert (await client.get(signed(image, params, new_secret))).status_code == 200


async def test_signing_is_per_workspace(client, services):
    headers, _ = await account_image(client, services)
    await signing_on(client, headers)
    _, other = await account_image(client, services)
    anon = await new_image(client, imagegen.jpeg(30, 30))
    for image in (other, anon):
        assert (await client.get(path_of(image, "w=10"))).status_code == 200


async def test_stored_images_follow_the_same_rule(client, services):
    headers, image = await account_image(client, services, imagegen.svg(40, 30), filename="a.svg")
    await signing_on(client, headers)
    assert (await client.get(path_of(image))).status_code == 200
    assert_signature_required(await client.get(path_of(image, "w=10")))


async def test_missing_images_are_404_before_signatures(client, services):
    headers, image = await account_image(client, services)
    await signing_on(client, headers)
    prefix = path_of(image).split("/")[2]
    r = await client.get(f"/i/{prefix}/zz9zz9zz.jpg?w=10")
    assert r.status_code == 404
