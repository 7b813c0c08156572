"""Sign-up, log-in, log-out: Argon2, server-side sessions, cookie flags, rotation, rate limits,
and no user enumeration."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from imgpro.accounts import sessions as session_domain
from imgpro.db.tables import sessions, users
from imgpro.settings import RateLimitSettings
from imgpro.web.routes.auth import LOGIN_FAILED, SIGNUP_REFUSED
from imgpro.web.sessions import SESSION_COOKIE

from .support import PASSWORD, csrf_of, log_in, new_client, new_email, sign_up, token_for


async def session_rows(services):
    async with services.db.read() as conn:
        return (await conn.execute(sa.select(sessions))).all()


async def test_signup_signs_in_with_a_hardened_cookie(client, services):
    token = await token_for(client, "/signup")
    email = new_email()
    r = await client.post(
        "/signup", data={"csrf_token": token, "email": email, "password": PASSWORD}
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?notice=welcome"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http here; see the https test
    value = client.cookies[SESSION_COOKIE]
    rows = await session_rows(services)
    assert len(rows) == 1
    # Only a hash of the token is stored.
    assert rows[0].token_hash == session_domain.token_hash(value) != value
    page = await client.get("/dashboard")
    assert page.status_code == 200 and email in page.text
    assert page.headers["cache-control"] == "no-store"
    # The password is an Argon2id hash.
    async with services.db.read() as conn:
        stored = (await conn.execute(sa.select(users.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_cookie_is_secure_over_https(app):
    async with new_client(app, base_url="https://testserver") as browser:
        token = await token_for(browser, "/signup")
        r = await browser.post(
            "/signup", data={"csrf_token": token, "email": new_email(), "password": PASSWORD}
        )
        assert r.status_code == 303
        cookies = [h.lower() for h in r.headers.get_list("set-cookie")]
        assert any(h.startswith(SESSION_COOKIE) and "; secure" in h for h in cookies)


async def test_login_rotates_the_session_and_logout_kills_it_server_side(app, client, services):
    email = await sign_up(client)
    first = client.cookies[SESSION_COOKIE]
    r = await log_in(client, email)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    second = client.cookies[SESSION_COOKIE]
    assert second != first
    hashes = {row.token_hash for row in await session_rows(services)}
    assert session_domain.token_hash(first) not in hashes  # the old one is gone
    assert session_domain.token_hash(second) in hashes

    async with new_client(app) as thief:  # someone who copied the first cookie
        thief.cookies.set(SESSION_COOKIE, first)
        r = await thief.get("/dashboard")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")

    page = await client.get("/dashboard")
    r = await client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert await session_rows(services) == []
    async with new_client(app) as thief:  # the cookie is worthless after logout
        thief.cookies.set(SESSION_COOKIE, second)
        assert (await thief.get("/dashboard")).status_code == 303


async def test_a_planted_session_cookie_is_never_promoted(app, client, services):
    """Session fixation: whatever cookie the browser brings, login issues a new token."""
    client.cookies.set(SESSION_COOKIE, "attacker-chosen-value", domain="testserver.local")
    email = await sign_up(client)
    assert client.cookies[SESSION_COOKIE] != "attacker-chosen-value"
    r = await log_in(client, email)
    assert r.status_code == 303


async def test_unknown_email_and_wrong_password_look_the_same(client, services, monkeypatch):
    email = await sign_up(client)
    await client.post("/logout", data={"csrf_token": csrf_of((await client.get("/")).text)})
    calls = []
    real_verify = PasswordHasher.verify

    def spy(self, hash, password):
        calls.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    wrong = await log_in(client, email, "not the password")
    unknown = await log_in(client, "nobody-here@example.com", "not the password")
    malformed = await log_in(client, "not-an-email", "not the password")
    for r in (wrong, unknown, malformed):
        assert r.status_code == 401
        assert LOGIN_FAILED in r.text
    # Every attempt paid for one Argon2 verification (timing does not tell them apart).
    assert len(calls) == 3 and all(h.startswith("$argon2id$") for h in calls)
    assert wrong.text.replace(email, "X") == unknown.text.replace(
        "nobody-here@example.com", "X"
    ).replace(csrf_of(unknown.text), csrf_of(wrong.text))


async def test_signup_with_an_existing_email_reveals_as_little_as_possible(app, client, services):
    email = await sign_up(client)
    async with new_client(app) as other:
        token = await token_for(other, "/signup")
        r = await other.post(
            "/signup",
            data={"csrf_token": token, "email": email.upper(), "password": "another password"},
        )
        assert r.status_code == 422
        assert SIGNUP_REFUSED in r.text
        assert "already exists" not in r.text
        assert SESSION_COOKIE not in other.cookies
    async with services.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar() == 1


async def test_signup_validation_messages(client):
    token = await token_for(client, "/signup")
    r = await client.post(
        "/signup", data={"csrf_token": token, "email": "nope", "password": PASSWORD}
    )
    assert r.status_code == 422 and "valid email" in r.text
    r = await client.post(
        "/signup", data={"csrf_token": token, "email": new_email(), "password": "short"}
    )
    assert r.status_code == 422 and "at least 8" in r.text
    assert 'value="nope"' not in r.text  # the second form shows the second email


async def test_login_returns_to_a_local_next_only(client):
    email = await sign_up(client)
    r = await client.get("/keys")
    await client.post("/logout", data={"csrf_token": csrf_of((await client.get("/")).text)})
    r = await client.get("/keys")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/keys"
    page = await client.get("/login?next=/keys")
    assert 'name="next" value="/keys"' in page.text
    r = await log_in(client, email, next="/keys")
    assert r.headers["location"] == "/keys"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        r = await log_in(client, email, next=evil)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard", evil


async def test_signed_in_visitors_skip_the_forms(client):
    await sign_up(client)
    for path in ("/login", "/signup"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"


async def test_sessions_expire(client, clock):
    await sign_up(client)
    assert (await client.get("/dashboard")).status_code == 200
    clock.advance(days=8)  # idle for longer than a week
    r = await client.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/dashboard"


async def test_sessions_have_an_absolute_lifetime(client, clock):
    await sign_up(client)
    for _ in range(5):
        clock.advance(days=5)
        assert (await client.get("/dashboard")).status_code == 200  # active: kept alive
    clock.advance(days=6)  # 31 days after login, never idle for long
    assert (await client.get("/dashboard")).status_code == 303


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # limits live in memory
class TestRateLimits:
    """Tight limits so the tests stay fast (each attempt costs a real Argon2 check)."""

    @pytest.fixture
    def settings(self, settings):
        settings.rate_limits = RateLimitSettings(
            login_per_ip="4/minute;50/hour",
            login_per_email="2/minute;30/hour",
            signups_per_ip="2/hour",
        )
        return settings

    async def test_failed_logins_are_limited_per_email(self, app, client):
        email = await sign_up(client)
        await client.post("/logout", data={"csrf_token": csrf_of((await client.get("/")).text)})
        for _ in range(2):
            assert (await log_in(client, email, "wrong password")).status_code == 401
        r = await log_in(client, email)  # even the right password waits now
        assert r.status_code == 429
        assert "try again in" in r.text.lower() and int(r.headers["retry-after"]) > 0
        async with new_client(app, ip="198.51.100.20") as elsewhere:  # per email, not per IP
            assert (await log_in(elsewhere, email)).status_code == 429
            assert (await log_in(elsewhere, "someone-else@example.com", "x")).status_code == 401

    async def test_failed_logins_are_limited_per_address(self, app, client, clock):
        for i in range(4):
            r = await log_in(client, f"guess{i}@example.com", "wrong password")
            assert r.status_code == 401
        r = await log_in(client, "guess-more@example.com", "wrong password")
        assert r.status_code == 429
        async with new_client(app, ip="198.51.100.21") as elsewhere:
            assert (await log_in(elsewhere, "guess-more@example.com", "x")).status_code == 401
        clock.advance(minutes=2)  # the window moves on
        assert (await log_in(client, "guess-more@example.com", "x")).status_code == 401

    async def test_a_successful_login_clears_the_emails_failures(self, client):
        email = await sign_up(client)
        await client.post("/logout", data={"csrf_token": csrf_of((await client.get("/")).text)})
        assert (await log_in(client, email, "wrong password")).status_code == 401
        assert (await log_in(client, email)).status_code == 303
        await client.post("/logout", data={"csrf_token": csrf_of((await client.get("/")).text)})
        assert (await log_in(client, email, "wrong password")).status_code == 401
        assert (await log_in(client, email)).status_code == 303

    async def test_signups_are_limited_per_address(self, app, client):
        for _ in range(2):
            await sign_up(client)
            await client.post("/logout", data={"csrf_token": csrf_of((await client.get("/")).text)})
        token = await token_for(client, "/signup")
        r = await client.post(
            "/signup", data={"csrf_token": token, "email": new_email(), "password": PASSWORD}
        )
        assert r.status_code == 429 and "retry-after" in r.headers
        async with new_client(app, ip="198.51.100.22") as elsewhere:
            await sign_up(elsewhere)

    async def test_refused_signups_count_against_the_email(self, app, client):
        email = await sign_up(client)
        for i in range(2):
            async with new_client(app, ip=f"198.51.100.{30 + i}") as probe:
                token = await token_for(probe, "/signup")
                r = await probe.post(
                    "/signup", data={"csrf_token": token, "email": email, "password": PASSWORD}
                )
                assert r.status_code == 422
        async with new_client(app, ip="198.51.100.40") as probe:
            token = await token_for(probe, "/signup")
            r = await probe.post(
                "/signup", data={"csrf_token": token, "email": email, "password": PASSWORD}
            )
            assert r.status_code == 429


async def test_logout_page_and_logout_without_a_session(client):
    r = await client.get("/logout")
    assert r.status_code == 200 and "logged out" in r.text
    r = await client.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/"
    email = await sign_up(client)
    r = await client.get("/logout")
    assert email in r.text and 'action="http://testserver/logout"' in r.text
