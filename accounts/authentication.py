"""``Authorization: Bearer <Auth0 access token>`` on the API.

The token is an RS256 JWT checked against the issuer's keys (``accounts.bearer``); its ``sub``
is the same user the browser sign-in makes. A person seen for the first time through a token is
created then, with their profile from the issuer's /userinfo (never fetched again per request:
the browser sign-in refreshes profiles).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts import auth0, bearer, services
from accounts.models import User
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

REALM = "api"


class BearerRefused(TapesiteError, exceptions.AuthenticationFailed):
    """A refused token: the API's error shape with the token's code, and to DRF an
    AuthenticationFailed, so the response carries WWW-Authenticate."""

    status = 401

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=401)


def verify_access_token(token: str) -> bearer.VerifiedToken:
    """Check a bearer token against the configured issuer; refetch the keys once (within the
    cooldown, across processes) when it names a key id we have not seen."""
    config = auth0.auth0_config()
    if config is None:
        raise BearerRefused(
            "bearer_not_supported", "This site does not accept bearer tokens; sign in instead."
        )
    options: dict[str, Any] = {
        "issuer": config.issuer,
        "audience": config.audience,
        "leeway": float(settings.AUTH0_LEEWAY_SECONDS),
    }
    try:
        try:
            return bearer.verify(token, jwks=auth0.jwks(config), **options)
        except bearer.UnknownKey:
            # Keys rotate: a token signed with a new key is the moment to refetch them.
            return bearer.verify(token, jwks=auth0.jwks(config, refresh=True), **options)
    except bearer.UnknownKey as exc:
        raise BearerRefused(
            "token_key_unknown", f"The bearer token's signing key {exc.kid!r} is not the issuer's."
        ) from exc
    except bearer.TokenRefused as exc:
        raise BearerRefused(exc.code, exc.message) from exc


def _machine_token(verified: bearer.VerifiedToken) -> bool:
    # Auth0 marks client-credentials tokens; they stand for a program, which has no /userinfo.
    return (
        verified.claims.get("gty") == "client-credentials"
        or verified.sub.endswith("@clients")
        or "openid" not in verified.scopes
    )


def user_for_token(verified: bearer.VerifiedToken, raw_token: str) -> User:
    user = User.objects.filter(sub=verified.sub).first()
    if user is not None:
        return user
    profile: dict[str, str] = {}
    config = auth0.auth0_config()
    if config is not None and not _machine_token(verified):
        try:
            profile = services.profile_from_claims(auth0.userinfo(config, raw_token))
        except TapesiteError as exc:
            # The account is still made (keyed by sub); the next browser sign-in fills it in.
            logger.warning("no profile for new user %s from /userinfo: %s", verified.sub, exc)
    return services.user_from_claims(sub=verified.sub, profile=profile)


class Auth0BearerAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, bearer.VerifiedToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise BearerRefused(
                "token_malformed", "Send exactly one token: 'Authorization: Bearer <token>'."
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise BearerRefused("token_malformed", "The bearer token is not ASCII.") from exc
        verified = verify_access_token(raw)
        user = user_for_token(verified, raw)
        if not user.is_active:
            raise BearerRefused("user_inactive", "This account is disabled.")
        return user, verified

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'
