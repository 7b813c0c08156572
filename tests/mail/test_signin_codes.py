"""Email-code sign-in through the real pages, with the code read from a real SMTP server:
sign-up by code, expiry, reuse, the wrong browser, wrong guesses, rate limits, and answers
that do not tell whether an account exists."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from imgpro.db.tables import email_tokens, users
from web.support import PASSWORD, new_client, new_email, sign_up, user_of

from .smtp import code_in, html_of, text_of
from .support import ask_code, deliver, enter_code


async def test_code_sign_up_and_sign_in(client, services, smtp):
    email = new_email()
    r = await ask_code(client, email)
    assert r.status_code == 303 and r.headers["location"] == "/login/code"
    assert "imgpro_signin" in r.headers["set-cookie"]
    assert "HttpOnly" in r.headers["set-cookie"]
    page = await client.get("/login/code")
    assert 'id="code-sent"' in page.text and email not in page.text
    assert await deliver(services) == 1
    message = smtp.inbox.last(email)
    assert message["From"] == "imgpro <noreply@example.com>"
    assert "sign-in code" in message["Subject"]
    code = code_in(message)
    assert code in html_of(message) and "creates one" in text_of(message)
    # Only a keyed hash of the code is stored.
    async with services.db.read() as conn:
        stored = (await conn.execute(sa.select(email_tokens.c.secret_hash))).scalars().all()
    assert stored and all(code not in h for h in stored)

    r = await enter_code(client, code)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    assert (await client.get("/dashboard")).status_code == 200
    user = await user_of(services, email)
    async with services.db.read() as conn:
        row = (await conn.execute(sa.select(users).where(users.c.id == user.id))).one()
    assert row.password_hash == "" and row.email_verified_at is not None  # passwordless

    # A passwordless account has no password anything could match (not even the empty one).
    other = new_client(client._transport.app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await other.get("/")).text)
    for guess in ("", "imgpro-timing-equaliser"):
        r = await other.post(
            "/login", data={"csrf_token": token.group(1), "email": email, "password": guess}
        )
        assert r.status_code == 401


async def test_code_for_existing_account_and_next(client, services, smtp):
    email = await sign_up(client)
    browser = new_client(client._transport.app)
    r = await ask_code(browser, email.upper(), next="/keys")
    assert r.headers["location"] == "/login/code?next=/keys"
    await deliver(services)
    message = [m for m in smtp.inbox.to(email) if "sign-in code" in m["Subject"]][-1]
    assert "creates one" not in text_of(message)
    r = await enter_code(browser, code_in(message), next="/keys")
    assert r.status_code == 303 and r.headers["location"] == "/keys"
    assert (await browser.get("/keys")).status_code == 200


async def test_reuse_wrong_browser_expiry_and_guesses(client, services, smtp, clock):
    app = client._transport.app
    email = new_email()
    await ask_code(client, email)
    await deliver(services)
    code = code_in(smtp.inbox.last(email))

    # Another browser (no nonce cookie, or its own) cannot use it.
    thief = new_client(app)
    r = await enter_code(thief, code)
    assert r.status_code == 400 and "only in the browser that asked" in r.text
    await ask_code(thief, new_email())
    r = await enter_code(thief, code)
    assert r.status_code in (400, 401)
    assert (await thief.get("/dashboard")).status_code == 303

    # Right browser: works once.
    assert (await enter_code(client, code)).status_code == 303
    await client.post("/logout")
    fresh = new_client(app)
    fresh.cookies.set("imgpro_signin", client.cookies.get("imgpro_signin") or "x")
    assert (await enter_code(fresh, code)).status_code == 400

    # Expiry: 10 minutes.
    late = new_client(app)
    await ask_code(late, email)
    await deliver(services)
    code = code_in(smtp.inbox.wait_for(email, 2, timeout=1))
    clock.advance(minutes=10, seconds=1)
    r = await enter_code(late, code)
    assert r.status_code == 400 and "expired" in r.text

    # Five wrong guesses use a code up; the right one then fails too.
    guesser = new_client(app)
    await ask_code(guesser, email)
    await deliver(services)
    code = code_in(smtp.inbox.wait_for(email, 3, timeout=1))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    statuses = [(await enter_code(guesser, wrong)).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 400]
    r = await enter_code(guesser, code)
    assert r.status_code == 400 and (await guesser.get("/dashboard")).status_code == 303

    # A new code voids the browser's previous one.
    again = new_client(app)
    await ask_code(again, email)
    await ask_code(again, email)
    await deliver(services)
    first, second = (code_in(m) for m in smtp.inbox.to(email)[-2:])
    if first != second:
        assert (await enter_code(again, first)).status_code == 401
    assert (await enter_code(again, second)).status_code == 303


async def test_rate_limits_per_address_and_per_ip(client, services):
    app = client._transport.app
    email = new_email()
    for i in range(5):  # 5 per hour per address, from any address
        r = await ask_code(new_client(app, ip=f"198.51.100.{i + 1}"), email)
        assert r.status_code == 303
    r = await ask_code(new_client(app, ip="198.51.100.99"), email)
    assert r.status_code == 429 and "Retry-After" in r.headers
    async with services.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(email_tokens)) == 5

    browser = new_client(app, ip="192.0.2.50")  # 20 per hour per client IP
    for _ in range(20):
        assert (await ask_code(browser, new_email())).status_code == 303
    assert (await ask_code(browser, new_email())).status_code == 429


@pytest.mark.parametrize("path", ["/login/code", "/password/forgot"])
async def test_answers_do_not_tell_whether_an_account_exists(client, services, smtp, path):
    app = client._transport.app
    known = await sign_up(new_client(app), password=PASSWORD)
    unknown = new_email()
    answers = []
    for i, email in enumerate((known, unknown)):
        browser = new_client(app, ip=f"203.0.113.{20 + i}")
        page = "/login" if path == "/login/code" else path
        r = await browser.get(page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        r = await browser.post(path, data={"csrf_token": token, "email": email})
        body = r.text.replace(token, "TOKEN").replace(email, "EMAIL")
        answers.append(
            (
                r.status_code,
                r.headers.get("location"),
                body,
                sorted(c.split("=")[0] for c in r.headers.get_list("set-cookie")),
            )
        )
    assert answers[0] == answers[1]
    await deliver(services)
    # Both addresses got a message; only their owners learn the difference.
    assert smtp.inbox.to(unknown)
    assert len(smtp.inbox.to(known)) == 2  # the verification link, then this
