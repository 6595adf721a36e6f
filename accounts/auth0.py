"""Auth0 (or any OpenID provider set up like it): its settings, its metadata and keys, and the
authlib client the browser sign-in uses.

The metadata (discovery document) and the keys (JWKS) live in the "auth0" Django cache, which
production points at Redis: every web process shares one copy, and the keys are fetched again only
when they expire from the cache or when a token names a key id we have not seen, at most once per
cooldown. While that cache is unreachable each process falls back to a copy of its own, so a
Redis outage neither breaks the API nor sends every request to the provider.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.core.cache import caches

from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

SCOPE = "openid profile email"


@dataclass(frozen=True)
class Auth0Config:
    issuer: str
    client_id: str
    client_secret: str
    audience: str

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}.well-known/openid-configuration"

    @property
    def cache_prefix(self) -> str:
        return "accounts:auth0:" + hashlib.sha256(self.issuer.encode()).hexdigest()[:16]


def _issuer(domain: str, override: str) -> str:
    if override:
        return override if override.endswith("/") else override + "/"
    host = domain.strip().removeprefix("https://").removeprefix("http://").strip("/")
    return f"https://{host}/"


def auth0_config() -> Auth0Config | None:
    """Auth0's settings, or None when the site uses its own accounts. Read at every call, so a
    test (or a settings override) takes effect at once."""
    if not (settings.AUTH0_DOMAIN or settings.AUTH0_ISSUER):
        return None
    return Auth0Config(
        issuer=_issuer(settings.AUTH0_DOMAIN, settings.AUTH0_ISSUER),
        client_id=settings.AUTH0_CLIENT_ID,
        client_secret=settings.AUTH0_CLIENT_SECRET,
        audience=settings.AUTH0_AUDIENCE,
    )


class _SharedCache:
    """The "auth0" cache, falling back to this process's memory when it fails."""

    def __init__(self) -> None:
        self._local: dict[str, tuple[float, Any]] = {}

    def _fallback(self, exc: Exception) -> None:
        logger.warning("auth0 cache unreachable, using this process's copy: %s", exc)

    def get(self, key: str) -> Any:
        try:
            return caches["auth0"].get(key)
        except Exception as exc:
            self._fallback(exc)
        return self._get_local(key)

    def set(self, key: str, value: Any, timeout: int) -> None:
        self._local[key] = (time.monotonic() + timeout, value)
        try:
            caches["auth0"].set(key, value, timeout)
        except Exception as exc:
            self._fallback(exc)

    def add(self, key: str, value: Any, timeout: int) -> bool:
        try:
            return bool(caches["auth0"].add(key, value, timeout))
        except Exception as exc:
            self._fallback(exc)
        if self._get_local(key) is not None:
            return False
        self._local[key] = (time.monotonic() + timeout, value)
        return True

    def _get_local(self, key: str) -> Any:
        expires, value = self._local.get(key, (0.0, None))
        return value if expires > time.monotonic() else None

    def clear(self) -> None:
        self._local.clear()
        try:
            caches["auth0"].clear()
        except Exception as exc:
            self._fallback(exc)


cache = _SharedCache()


def provider_unavailable(what: str, exc: Exception | None = None) -> TapesiteError:
    logger.warning("sign-in provider unreachable (%s): %s", what, exc)
    return TapesiteError(
        "auth_provider_unavailable",
        "The sign-in provider could not be reached; try again in a moment.",
        status=503,
        retryable=True,
    )


def _get_json(url: str, what: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        response = requests.get(url, headers=headers, timeout=settings.AUTH0_HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise provider_unavailable(what, exc) from exc
    if not isinstance(body, dict):
        raise provider_unavailable(what)
    return body


def metadata(config: Auth0Config) -> dict[str, Any]:
    """The issuer's discovery document (cached)."""
    key = f"{config.cache_prefix}:metadata"
    found = cache.get(key)
    if found is None:
        found = _get_json(config.metadata_url, "discovery")
        if found.get("issuer") != config.issuer:
            # The document must describe the issuer we were told to trust, character for character.
            logger.error("issuer mismatch: %r != %r", found.get("issuer"), config.issuer)
            raise provider_unavailable("discovery names another issuer")
        cache.set(key, found, settings.AUTH0_JWKS_CACHE_SECONDS)
    return dict(found)


def jwks(config: Auth0Config, *, refresh: bool = False) -> dict[str, Any]:
    """The issuer's public keys. Cached; ``refresh`` fetches them again, but only if no other
    request did so within the cooldown (returns the cached set otherwise)."""
    key = f"{config.cache_prefix}:jwks"
    found = cache.get(key)
    if found is not None and not refresh:
        return dict(found)
    if found is not None and refresh:
        cooldown = int(settings.AUTH0_JWKS_REFETCH_COOLDOWN_SECONDS)
        # add() is atomic in Redis: one process per cooldown wins the right to refetch.
        if not cache.add(f"{config.cache_prefix}:jwks-refetch", 1, cooldown):
            return dict(found)
    fetched = _get_json(metadata(config)["jwks_uri"], "jwks")
    if not isinstance(fetched.get("keys"), list):
        raise provider_unavailable("jwks without keys")
    cache.set(key, fetched, settings.AUTH0_JWKS_CACHE_SECONDS)
    return fetched


def userinfo(config: Auth0Config, access_token: str) -> dict[str, Any]:
    """The profile behind an access token, from the issuer's /userinfo."""
    url = metadata(config).get("userinfo_endpoint") or f"{config.issuer}userinfo"
    return _get_json(url, "userinfo", headers={"Authorization": f"Bearer {access_token}"})


@lru_cache(maxsize=8)
def _client(config: Auth0Config) -> DjangoOAuth2App:
    # One registry per configuration; authlib keeps its own copy of the metadata per client.
    oauth = OAuth()
    oauth.register(
        "auth0",
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.metadata_url,
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )
    client: DjangoOAuth2App = oauth.create_client("auth0")
    return client


def oauth_client(config: Auth0Config) -> DjangoOAuth2App:
    """authlib's Django client: authorization code with PKCE (S256), state and nonce kept in the
    session and checked at the callback."""
    return _client(config)


def oauth_client_reset() -> None:
    """Forget the clients made so far (tests switch issuers)."""
    _client.cache_clear()


def logout_url(config: Auth0Config, *, return_to: str, id_token: str | None) -> str:
    """Where to send the browser to end the provider's session too, coming back to
    ``return_to``: RP-initiated logout when the issuer advertises it, else Auth0's /v2/logout."""
    try:
        end_session = metadata(config).get("end_session_endpoint")
    except TapesiteError:
        end_session = None
    if end_session:
        params = {"client_id": config.client_id, "post_logout_redirect_uri": return_to}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{end_session}?{urlencode(params)}"
    classic = urlencode({"client_id": config.client_id, "returnTo": return_to})
    return f"{config.issuer}v2/logout?{classic}"
