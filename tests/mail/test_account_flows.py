"""Verification, password reset, the account page (password, email change, notifications,
deletion) end to end through HTTP, every message read from a real SMTP server."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa

import imagegen
from factories import upload
from imgpro.db.tables import api_keys, images, users
from web.support import PASSWORD, csrf_of, log_in, new_client, new_email, sign_up

from .smtp import code_in, link_in, text_of
from .support import ask_code, deliver, enter_code


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def test_verification_link_banner_and_policy(client, services, smtp, settings):
    email = await sign_up(client)
    assert 'id="verify-banner"' in (await client.get("/dashboard")).text
    await deliver(services)
    message = smtp.inbox.last(email)
    assert "Verify" in message["Subject"]
    link = link_in(message)
    assert link.startswith("http://testserver/verify?t=")
    r = await client.get(path_of(link))
    assert r.status_code == 303 and r.headers["location"] == "/account?notice=verified"
    assert 'id="verify-banner"' not in (await client.get("/dashboard")).text
    assert (await client.get(path_of(link))).status_code == 400  # single use

    # The operator's policy: unverified accounts may not create keys.
    settings.accounts.unverified_may_create = False
    other = new_client(client._transport.app)
    await sign_up(other)
    page = await other.get("/keys")
    assert "you cannot create API keys" in page.text
    r = await other.post(
        "/keys", data={"csrf_token": csrf_of(page.text), "name": "x", "abilities": "read"}
    )
    assert r.status_code == 403 and "verify your email" in r.text


async def test_password_reset_end_to_end(client, services, smtp, clock):
    app = client._transport.app
    email = await sign_up(client)
    elsewhere = new_client(app)
    assert (await log_in(elsewhere, email)).status_code == 303
    stranger = new_client(app, ip="198.51.100.40")
    r = await stranger.get("/password/forgot")
    r = await stranger.post(
        "/password/forgot", data={"csrf_token": csrf_of(r.text), "email": email}
    )
    assert r.status_code == 200 and "If an account uses" in r.text
    await deliver(services)
    message = smtp.inbox.last(email)
    assert message["Subject"] == "Reset your imgpro password"
    link = path_of(link_in(message))
    # Opening the link (a mail scanner's prefetch too) shows the form and uses nothing.
    for _ in range(2):
        form = await stranger.get(link)
        assert form.status_code == 200 and email in form.text
    token = link.split("t=")[1]
    r = await stranger.post(
        "/password/reset",
        data={"csrf_token": csrf_of(form.text), "token": token, "password": "short"},
    )
    assert r.status_code == 422
    r = await stranger.post(
        "/password/reset",
        data={
            "csrf_token": csrf_of(form.text),
            "token": token,
            "password": "a brand new passphrase",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?notice=password_reset"
    assert (await stranger.get("/account")).status_code == 200
    # Every other session is gone; the old password is dead; the link is used up.
    assert (await client.get("/dashboard")).status_code == 303
    assert (await elsewhere.get("/dashboard")).status_code == 303
    assert (await log_in(new_client(app), email)).status_code == 401
    assert (await log_in(new_client(app), email, "a brand new passphrase")).status_code == 303
    assert (await stranger.get(link)).status_code == 400
    await deliver(services)
    assert "was reset" in text_of(smtp.inbox.last(email))

    # A reset link lives one hour.
    r = await stranger.get("/password/forgot")
    await stranger.post("/password/forgot", data={"csrf_token": csrf_of(r.text), "email": email})
    await deliver(services)
    late = path_of(link_in([m for m in smtp.inbox.to(email) if "Reset" in m["Subject"]][-1]))
    clock.advance(hours=1, seconds=1)
    assert (await stranger.get(late)).status_code == 400


async def test_unknown_address_reset_gets_a_harmless_message(client, services, smtp):
    email = new_email()
    r = await client.get("/password/forgot")
    await client.post("/password/forgot", data={"csrf_token": csrf_of(r.text), "email": email})
    await deliver(services)
    text = text_of(smtp.inbox.last(email))
    assert "no account uses this address" in text and "t=" not in text


async def test_account_page_password_email_and_notifications(client, services, smtp):
    app = client._transport.app
    email = await sign_up(client)
    other_session = new_client(app)
    await log_in(other_session, email)
    page = await client.get("/account")
    assert page.status_code == 200 and email in page.text
    token = csrf_of(page.text)

    # Password change: the current password confirms; other browsers are signed out.
    r = await client.post(
        "/account/password",
        data={"csrf_token": token, "confirm": "wrong!!!", "password": "another passphrase"},
    )
    assert r.status_code == 403
    r = await client.post(
        "/account/password",
        data={"csrf_token": token, "confirm": PASSWORD, "password": "another passphrase"},
    )
    assert r.status_code == 303
    assert (await client.get("/account")).status_code == 200
    assert (await other_session.get("/account")).status_code == 303

    # Email change: a link to the new address; the old one is told when it is opened.
    new = new_email()
    r = await client.post(
        "/account/email", data={"csrf_token": token, "email": new, "confirm": "another passphrase"}
    )
    assert r.headers["location"] == "/account?notice=email_sent"
    await deliver(services)
    link = path_of(link_in(smtp.inbox.last(new)))
    assert "/account/email/confirm?t=" in link
    r = await client.get(link)
    assert r.headers["location"] == "/account?notice=email_changed"
    page = await client.get("/account")
    assert new in page.text and 'id="email-status">not verified' not in page.text
    await deliver(services)
    assert new in text_of(smtp.inbox.last(email))  # the old address hears of it
    assert (await log_in(new_client(app), new, "another passphrase")).status_code == 303

    # Notifications: a new key is reported; switched off, it is not.
    r = await client.post(
        "/keys", data={"csrf_token": token, "name": "laptop", "abilities": "read"}
    )
    assert r.status_code == 201
    await deliver(services)
    assert "laptop" in smtp.inbox.last(new)["Subject"]
    r = await client.post("/account/notifications", data={"csrf_token": token, "notify": "quota"})
    assert r.status_code == 303
    before = len(smtp.inbox.to(new))
    await client.post("/keys", data={"csrf_token": token, "name": "quiet", "abilities": "read"})
    await deliver(services)
    assert len(smtp.inbox.to(new)) == before
    assert 'id="notify-keys" checked' not in (await client.get("/account")).text


async def test_delete_passwordless_account_with_a_code(client, services, smtp):
    email = new_email()
    await ask_code(client, email)
    await deliver(services)
    await enter_code(client, code_in(smtp.inbox.last(email)))
    page = await client.get("/account")
    token = csrf_of(page.text)
    assert "Set a password" in page.text
    r = await client.post("/keys", data={"csrf_token": token, "name": "k", "abilities": "write"})
    key = re.search(r'id="new-key-value" value="([^"]+)"', r.text).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    async with services.db.read() as conn:
        user_id = await conn.scalar(sa.select(users.c.id).where(users.c.email == email))
    r = await upload(client, imagegen.png(40, 30), headers=headers, filename="a.png")
    assert r.status_code == 201
    cdn_path = urlsplit(r.json()["url"]).path

    # A wrong code does not delete; a code this session asked for does.
    r = await client.post("/account/delete", data={"csrf_token": token, "confirm": "000000"})
    assert r.status_code == 403
    await client.post("/account/code", data={"csrf_token": token})
    await deliver(services)
    code = code_in([m for m in smtp.inbox.to(email) if "confirmation" in m["Subject"]][-1])
    thief = new_client(client._transport.app)
    await ask_code(thief, email)  # another browser's codes never confirm this session
    r = await client.post("/account/delete", data={"csrf_token": token, "confirm": code})
    assert r.status_code == 200 and "deleted" in r.text
    async with services.db.read() as conn:
        assert (
            await conn.scalar(
                sa.select(sa.func.count()).select_from(users).where(users.c.id == user_id)
            )
            == 0
        )
        assert (
            await conn.scalar(
                sa.select(sa.func.count())
                .select_from(api_keys)
                .where(api_keys.c.user_id == user_id)
            )
            == 0
        )
        assert await conn.scalar(sa.select(sa.func.count()).select_from(images)) == 0
    assert (await client.get(cdn_path)).status_code == 404
    assert (await client.get("/v1/images", headers=headers)).status_code == 401
    assert (await client.get("/account")).status_code == 303
    await deliver(services)
    assert "was deleted" in smtp.inbox.last(email)["Subject"]
