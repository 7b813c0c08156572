"""The outbox and its transports: retries with backoff while the SMTP server is down, giving
up after the cap, STARTTLS with AUTH and implicit TLS against a certificate made for the test,
the log transport with no SMTP configured and ``imgpro mail outbox``, and quota notices."""

from __future__ import annotations

import asyncio
import logging

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from imgpro.cli.main import app as cli
from imgpro.clock import FrozenClock
from imgpro.db.engine import Database
from imgpro.db.tables import mail_outbox
from imgpro.mail.outbox import Mailer, backoff
from imgpro.mail.transport import LogTransport, make_transport
from imgpro.settings import Settings, SmtpSettings

from .smtp import SmtpServer, free_port, text_of


async def _row(services, message_id):
    async with services.db.read() as conn:
        return (
            await conn.execute(sa.select(mail_outbox).where(mail_outbox.c.id == message_id))
        ).one()


async def test_retries_with_backoff_then_delivers(services, clock, tmp_path):
    down = SmtpServer(tmp_path)  # not started yet: nothing listens on its port
    services.mail.transport = make_transport(SmtpSettings(url=down.url, timeout_seconds=2))
    message_id = await services.mail.send("late@example.com", "test")
    assert await services.mail.deliver_due() == 0
    row = await _row(services, message_id)
    assert row.attempts == 1 and row.sent_at is None and row.last_error
    assert row.next_attempt_at == clock.now() + backoff(1)
    assert await services.mail.deliver_due() == 0  # not due yet: no attempt
    assert (await _row(services, message_id)).attempts == 1
    clock.advance(seconds=30)
    await services.mail.deliver_due()
    row = await _row(services, message_id)
    assert row.attempts == 2 and row.next_attempt_at == clock.now() + backoff(2)
    assert backoff(2).total_seconds() == 60 and backoff(20).total_seconds() == 3600

    down.start()
    try:
        clock.advance(seconds=60)
        assert await services.mail.deliver_due() == 1
        assert "outgoing mail works" in text_of(down.inbox.last("late@example.com"))
    finally:
        down.stop()
    row = await _row(services, message_id)
    assert row.sent_at is not None and row.transport == "smtp"
    assert row.text_body == "" and row.html_body == ""  # not kept once the server has it


async def test_gives_up_after_the_cap(services, clock, tmp_path):
    services.mail.transport = make_transport(
        SmtpSettings(url=f"smtp://127.0.0.1:{free_port()}", timeout_seconds=2)
    )
    services.mail.max_attempts = 3
    message_id = await services.mail.send("never@example.com", "test")
    for _ in range(3):
        await services.mail.deliver_due()
        clock.advance(hours=1)
    row = await _row(services, message_id)
    assert row.failed_at is not None and row.attempts == 3 and row.text_body == ""
    clock.advance(hours=1)
    await services.mail.deliver_due()
    assert (await _row(services, message_id)).attempts == 3


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_and_auth_with_a_private_ca(mode, services, tmp_path):
    server = SmtpServer(tmp_path, mode).start()
    try:
        # Without trusting the test's certificate, TLS verification refuses the server.
        services.mail.transport = make_transport(SmtpSettings(url=server.url, timeout_seconds=5))
        message_id = await services.mail.send("secure@example.com", "test")
        assert await services.mail.deliver_due() == 0
        assert "CERTIFICATE" in (await _row(services, message_id)).last_error.upper()
        services.mail.transport = make_transport(
            SmtpSettings(url=server.url, ca_file=str(server.cert), timeout_seconds=5)
        )
        services.clock.advance(minutes=1)
        assert await services.mail.deliver_due() == 1
        assert server.inbox.last("secure@example.com")
        # (Implicit TLS: the server speaks nothing else, as the refused first attempt shows.)
        if mode == "starttls":
            assert server.inbox.tls == [True]  # upgraded before AUTH and DATA
            assert server.inbox.logins == [SmtpServer.USER]
    finally:
        server.stop()


async def test_without_smtp_messages_go_to_the_log_and_the_cli(tmp_path, caplog):
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, secret_key="k")
    from imgpro.app import run_migrations

    run_migrations(settings.resolved_database_url)
    settings.resolved_storage_dir.mkdir(parents=True)  # a whole store, as `imgpro migrate` makes
    assert isinstance(make_transport(settings.smtp), LogTransport)
    db = Database(settings.resolved_database_url)
    mailer = Mailer(
        db, FrozenClock(), LogTransport(), web_base="http://127.0.0.1:8000", max_attempts=3
    )
    try:
        await mailer.send(
            "solo@example.com", "login_code", code="123456", minutes=10, new_account=True
        )
        with caplog.at_level(logging.WARNING, logger="imgpro.mail"):
            assert await mailer.deliver_due() == 1
    finally:
        await db.dispose()
    assert "123456" in caplog.text and "solo@example.com" in caplog.text
    env = {"IMGPRO_DATA_DIR": str(data_dir), "IMGPRO_SECRET_KEY": "k"}

    def imgpro(*args: str) -> Result:
        # In this process, off the test's event loop (the command runs a loop of its own).
        return CliRunner().invoke(cli, list(args), env=env)

    r = await asyncio.to_thread(imgpro, "mail", "outbox", "--to", "solo@example.com")
    assert r.exit_code == 0, r.stderr
    assert "sent (log)" in r.stdout and "123456" in r.stdout
    r = await asyncio.to_thread(imgpro, "mail", "test", "ops@example.com")
    assert r.exit_code == 0 and "sent (log)" in r.stdout, r.stdout + r.stderr
