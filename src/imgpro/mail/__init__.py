"""Outgoing mail: messages composed from templates, a durable outbox in the database, and a
background task of the server that drains it over SMTP (or into the server log when no SMTP
server is configured). Nothing on a request path ever talks to an SMTP server."""

from imgpro.mail.message import Message, compose
from imgpro.mail.outbox import Mailer

__all__ = ["Mailer", "Message", "compose"]
