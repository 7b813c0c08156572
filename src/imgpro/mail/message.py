"""A message = a subject, a plain-text body and an HTML body, all from Jinja templates in
``mail/templates`` (``<kind>.txt`` and ``<kind>.html``; the HTML extends ``_layout.html``).

The text environment does not autoescape (it is not HTML); the HTML one does, so an email
address or an app name can never inject markup into a message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"

SUBJECTS = {
    "login_code": "Your imgpro sign-in code: {{ code }}",
    "confirm_code": "Your imgpro confirmation code: {{ code }}",
    "verify": "Verify your email address for imgpro",
    "reset": "Reset your imgpro password",
    "reset_unknown": "imgpro password reset requested",
    "email_change": "Confirm your new email address for imgpro",
    "email_changed": "The email address of your imgpro account was changed",
    "password_changed": "Your imgpro password was changed",
    "account_deleted": "Your imgpro account was deleted",
    "quota": "{{ workspace_label }} has used {{ percent }} % of its plan",
    "key_created": "A new API key was created: {{ key_name }}",
    "app_connected": "{{ app_name }} was connected to your imgpro account",
    "test": "imgpro test message",
}

_text = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=False,  # noqa: S701 - plain text
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_html = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


@dataclass(frozen=True)
class Message:
    kind: str
    to: str
    subject: str
    text: str
    html: str


def compose(kind: str, to: str, context: dict[str, Any]) -> Message:
    """Render the message ``kind`` for ``to``; raises KeyError for an unknown kind."""
    ctx = {"to": to, **context}
    subject = _text.from_string(SUBJECTS[kind]).render(ctx).strip()
    # A header value: never let a newline from the context start another header.
    subject = " ".join(subject.split())
    text = _text.get_template(f"{kind}.txt").render(ctx)
    html = _html.get_template(f"{kind}.html").render({**ctx, "subject": subject})
    return Message(kind=kind, to=to, subject=subject, text=text, html=html)
