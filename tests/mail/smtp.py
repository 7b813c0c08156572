"""A real SMTP server for the tests (aiosmtpd) on 127.0.0.1 and a free port, optionally with
STARTTLS (a self-signed certificate made by openssl for the test), implicit TLS and AUTH."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

CODE = re.compile(r"\b(\d{6})\b")
LINK = re.compile(r"(https?://\S+\?t=[A-Za-z0-9_\-]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """Messages the server accepted, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.tls.append(session.ssl is not None)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def last(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no message to {address}; have {[m['To'] for m in self.messages]}"
        return found[-1]

    def wait_for(self, address: str, count: int = 1, timeout: float = 20) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no message #{count} to {address}"
            time.sleep(0.05)
        return self.to(address)[count - 1]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def code_in(message: EmailMessage) -> str:
    match = CODE.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


def link_in(message: EmailMessage) -> str:
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made with the openssl command."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class SmtpServer:
    """aiosmtpd in a thread. ``mode``: "plain", "starttls" (required, with AUTH) or "tls"."""

    USER, PASSWORD = "mailer", "s3cret pass"

    def __init__(self, tmp: Path, mode: str = "plain") -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.mode = mode
        self.cert: Path | None = None
        kwargs: dict[str, Any] = {}
        if mode in ("starttls", "tls"):
            self.cert, key = self_signed(tmp)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, key)
            if mode == "starttls":
                kwargs.update(
                    tls_context=context,
                    require_starttls=True,
                    authenticator=self._authenticate,
                    auth_required=True,
                )
            else:
                kwargs.update(ssl_context=context)
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, server_hostname="127.0.0.1", **kwargs
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.USER
            and auth_data.password.decode() == self.PASSWORD
        )
        if ok:
            self.inbox.logins.append(self.USER)
        return AuthResult(success=ok)

    @property
    def url(self) -> str:
        if self.mode == "starttls":
            return f"smtp://{self.USER}:{self.PASSWORD.replace(' ', '%20')}@127.0.0.1:{self.port}"
        scheme = "smtps" if self.mode == "tls" else "smtp"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        if self.mode == "tls":
            # Controller's readiness probe speaks plain SMTP; with implicit TLS it cannot.
            self.controller.ready_timeout = 5
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
