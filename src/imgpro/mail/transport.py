"""How a composed message leaves: over SMTP (aiosmtplib), or into the server log.

``smtp://user:pass@host:587`` upgrades with STARTTLS when the server offers it, and insists on
it when a user name is given (a password is never sent in clear). ``smtps://…:465`` is TLS from
the first byte. The server's certificate is always verified — against the system's CAs, plus
``smtp.ca_file`` for a private CA.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from imgpro.mail.message import Message
from imgpro.settings import SmtpSettings

log = logging.getLogger("imgpro.mail")


def email_message(message: Message, from_address: str) -> EmailMessage:
    """The MIME message: text/plain with a text/html alternative."""
    mime = EmailMessage()
    mime["From"] = from_address
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    mime["Message-ID"] = make_msgid(domain=domain)
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class Transport(Protocol):
    name: str

    async def send(self, message: Message) -> None:
        """Deliver or raise; a raise means "try again later"."""


class LogTransport:
    """No mail server: the message, code or link included, goes to the server log, and the
    outbox keeps it for ``imgpro mail outbox``. Meant for a single machine whose operator reads
    the log; configure ``IMGPRO_SMTP__URL`` for anything with other users."""

    name = "log"

    async def send(self, message: Message) -> None:
        # WARNING, so it shows with Python's default logging too (uvicorn configures only its
        # own loggers).
        log.warning(
            "mail (no SMTP server configured) to %s: %s\n%s",
            message.to,
            message.subject,
            message.text,
        )


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        parts = urlsplit(settings.url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.from_address = settings.from_address
        self.timeout = settings.timeout_seconds
        self.tls_context = ssl.create_default_context(cafile=settings.ca_file or None)
        if settings.ca_file:
            self.tls_context.load_default_certs()

    async def send(self, message: Message) -> None:
        await aiosmtplib.send(
            email_message(message, self.from_address),
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            # None: upgrade if offered; True: refuse to go on without it.
            start_tls=None if self.implicit_tls or not self.username else True,
            tls_context=self.tls_context,
            timeout=self.timeout,
        )


def make_transport(settings: SmtpSettings) -> Transport:
    return SmtpTransport(settings) if settings.url else LogTransport()
