"""Who is asking: the client's IP address, taken from the number of proxies we trust.

``TRUSTED_PROXY_COUNT`` (environment variable, default 0) says how many reverse proxies of
ours stand in front of the application, each appending the address it saw to
``X-Forwarded-For``:

- 0: ``REMOTE_ADDR`` only; ``X-Forwarded-For`` is ignored (anyone can send it).
- N: the Nth address from the right of ``X-Forwarded-For`` (the one our outermost proxy saw).
  Addresses further left were written by the client and are never read. If the header has
  fewer than N addresses, the leftmost is used (the request came through fewer proxies, all of
  them ours). If the chosen entry is not an IP address, ``REMOTE_ADDR`` is used.

Getting N wrong matters: too small and every client is the proxy (one person's failures slow
everybody behind it); too large and clients choose their own address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# A header longer than this is not from our proxies; only its rightmost entries are read.
_MAX_ENTRY_CHARS = 64


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from one header entry: ``1.2.3.4``, ``1.2.3.4:567``, ``[::1]:80``, ``::1``."""
    text = value.strip()
    if not text or len(text) > _MAX_ENTRY_CHARS:
        return None
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port (a bare IPv6 address has two or more)
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as a string, or None if there is none we can read."""
    remote = _parse(str(request.META.get("REMOTE_ADDR") or ""))
    trusted = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    forwarded = str(request.headers.get("x-forwarded-for") or "")
    if trusted > 0 and forwarded.strip():
        # rsplit with a bound: the work is linear in the header and only N entries are kept.
        entries = forwarded.rsplit(",", trusted)[-trusted:]
        chosen = _parse(entries[0])
        if chosen is not None:
            return str(chosen)
    return str(remote) if remote is not None else None


def client_key(request: HttpRequest) -> str:
    """The client for rate limits: its IPv4 address, or its IPv6 /64 (one customer's network:
    a single machine can use any address in it)."""
    ip = client_ip(request)
    if ip is None:
        return "unknown"
    return network_key(ip)


def network_key(ip: str) -> str:
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
