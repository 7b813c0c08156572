"""The client's address, as rate limits and the CDN's render turns count it.

The address is the socket peer, unless the peer is a configured trusted proxy — then
``X-Forwarded-For`` is walked from the right, skipping trusted proxies, and the first address
that is not one is the client. A header from an untrusted peer is ignored entirely. IPv6
clients are keyed by their /64 (one subscriber's usual allocation), or one host could rotate
through 2^64 addresses to dodge the limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Trusted proxies as networks; a bare IP is a /32 (or /128). Raises ValueError."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "198.51.100.1:443"
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The client's address for rate limiting (see the module docstring)."""
    peer_ip = _ip(peer or "")
    if peer_ip is None:
        return peer or "unknown"
    if not any(peer_ip in net for net in trusted):
        return str(peer_ip)  # not a proxy we trust: its X-Forwarded-For means nothing
    hops = [h for header in forwarded_for for h in header.split(",") if h.strip()]
    current = peer_ip
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            # A trusted proxy passed on something unparseable: stop at the last known hop.
            return str(current)
        current = ip
        if not any(ip in net for net in trusted):
            return str(ip)
    return str(current)  # every hop was a trusted proxy: the left-most is the client


def rate_key(address: str) -> str:
    """What one client's counters are keyed by: the IPv4 address, or the IPv6 /64."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip) if ip is not None else address
