"""Which addresses the site may connect to, and what an origin is. Pure: no Django, no I/O.

An address is fit for a user-named request only if it is globally routable: not loopback,
private, link-local (the cloud metadata service at 169.254.169.254 lives there), shared address
space (CGNAT, 100.64.0.0/10), multicast, reserved or unspecified, and not an IPv6 form that
carries such an IPv4 address (mapped, 6to4, Teredo, NAT64).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def address_refusal(address: str) -> str | None:
    """Why ``address`` (an IP literal) must not be connected to, or None when it is global."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_refusal(str(embedded))
            return f"embeds {embedded}: {inner}" if inner else None
        if ip in _NAT64_LOCAL:
            return "private"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
    )
    for reason, hit in checks:
        if hit:
            return reason
    if not ip.is_global:
        return "not global"
    return None


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def is_global_address(address: str) -> bool:
    return address_refusal(address) is None


class OriginError(ValueError):
    pass


def split_url(url: str) -> tuple[SplitResult, str, str, int]:
    """``(parts, scheme, host, port)`` of an http(s) URL; the host lower-cased, without the
    brackets of an IPv6 literal. Raises OriginError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OriginError(f"not a URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OriginError(f"scheme {scheme!r} is not http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OriginError("no host")
    if parts.username is not None or parts.password is not None:
        raise OriginError("credentials in the URL")
    return parts, scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def origin(url: str) -> str:
    """``scheme://host:port`` with the port always written: the unit of the allowlist."""
    _, scheme, host, port = split_url(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def origins(urls: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """The origins of ``urls`` (a setting's entries, with or without paths); blanks skipped."""
    return frozenset(origin(url) for url in urls if url.strip())
