"""Origins as browsers send them in the Origin header: ``scheme://host[:port]``, lower-case, the
default port left out. Pure: no Django, so the middleware, the model and the tests share it."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_LENGTH = 200


class OriginInvalid(ValueError):
    pass


def normalise_origin(value: str) -> str:
    """The origin ``value`` names, spelled as a browser's Origin header spells it; raises
    OriginInvalid for anything that is not an http(s) origin (a path, a query, credentials)."""
    text = (value or "").strip()
    if not text or len(text) > MAX_LENGTH:
        raise OriginInvalid("An origin looks like https://example.com (at most 200 characters).")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise OriginInvalid(f"{text!r} is not an origin: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise OriginInvalid(f"{text!r} is not an origin: it must start with https:// or http://.")
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        raise OriginInvalid(f"{text!r} is not an origin: it has no host, or has credentials.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise OriginInvalid(
            f"{text!r} is not an origin: an origin has no path, query or fragment "
            "(https://example.com, not https://example.com/page)."
        )
    if any(c.isspace() for c in host):
        raise OriginInvalid(f"{text!r} is not an origin: its host has spaces.")
    shown_host = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown_host}"
    return f"{scheme}://{shown_host}:{port}"


def origin_or_none(value: str) -> str | None:
    try:
        return normalise_origin(value)
    except OriginInvalid:
        return None
