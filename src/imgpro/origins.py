"""The origin a listen address serves. Its own module, importing nothing, because the server
launcher (cli/launch.py) needs it and stays lean."""

from __future__ import annotations


def served_origin(host: str, port: int) -> str:
    """``http://HOST:PORT`` for a listen address; a wildcard address (all interfaces) becomes
    loopback, the one address it certainly answers on, and an IPv6 literal gets brackets."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
