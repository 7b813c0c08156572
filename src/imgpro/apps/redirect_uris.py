"""What a registered redirect URI may look like, and how its origin enters a CSP header.

A redirect URI ends up in two places that an attacker would love to write to: the
``Location`` of the redirect back to the app and the ``form-action`` directive of the
``/connect`` page's Content-Security-Policy. ``urlsplit`` is lenient (it happily takes
``https://app.example;frame-ancestors evil.example;x/cb`` and calls everything before the
first ``/`` the netloc), so the URI is checked against a strict grammar here: a DNS name or
IP literal, an optional numeric port, and a path/query made only of RFC 3986 characters —
no whitespace, quotes, semicolons or commas anywhere.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# One DNS label: letters, digits, inner hyphens; 1-63 characters.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
# RFC 3986 path/query characters, minus ';' and ',' (sub-delims that mean something in CSP
# and in Set-Cookie-like headers) and minus quotes, which RFC 3986 excludes anyway.
_PATH_QUERY = re.compile(r"^[A-Za-z0-9\-._~!$&()*+=:@/?%]*$")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _host_ok(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return len(host) <= 253 and bool(_HOSTNAME.match(host))


def is_well_formed(uri: str) -> bool:
    """True for ``scheme://host[:port]/path?query`` with nothing that could break out of a
    header value or a CSP source expression."""
    if not uri.isascii() or any(ch.isspace() or not ch.isprintable() for ch in uri):
        return False
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    hostport = parts.netloc
    if "@" in hostport:
        return False
    host, port = hostport, ""
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port = hostport[: end + 1], hostport[end + 1 :]
        if port and not port.startswith(":"):
            return False
        port = port[1:]
    elif ":" in hostport:
        host, port = hostport.rsplit(":", 1)
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        return False
    if not _host_ok(host):
        return False
    rest = uri[len(parts.scheme) + 3 + len(parts.netloc) :]
    return bool(_PATH_QUERY.match(rest)) and not _PERCENT.search(rest)


def csp_origin(uri: str) -> str | None:
    """``scheme://host[:port]`` of a well-formed URI, safe to paste into a CSP source list;
    None for anything else (the caller then adds no source at all)."""
    if not is_well_formed(uri):
        return None
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
