"""Checking an Auth0 access token (an RS256 JWT) against the issuer's keys.

Pure Python on purpose (no Django): the DRF authentication class supplies the keys, the issuer and
the audience, and turns ``UnknownKey`` into one refetch of the keys. Every refusal is a
``TokenRefused`` carrying a stable code.

Each step is checked on its own, in order, so a token is refused for the first thing wrong with it
and the code says which: the header (only RS256 with a key id), the key, the signature, then the
claims (exact issuer, our audience, exp/nbf/iat with a small leeway, a subject).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from tapesite.errors import TapesiteError

ALGORITHM = "RS256"


class TokenRefused(TapesiteError):
    status = 401


class UnknownKey(Exception):
    """The token names a key id the key set does not hold (yet)."""

    def __init__(self, kid: str) -> None:
        super().__init__(kid)
        self.kid = kid


@dataclass(frozen=True)
class VerifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])

    @property
    def scopes(self) -> set[str]:
        return set(str(self.claims.get("scope") or "").split())


def _b64json(part: str) -> Any:
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return json.loads(raw)


def unverified_header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise TokenRefused("token_malformed", "The bearer token is not a JWT (header.payload.sig).")
    try:
        header = _b64json(parts[0])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise TokenRefused("token_malformed", "The bearer token's header is not JSON.") from exc
    if not isinstance(header, dict):
        raise TokenRefused("token_malformed", "The bearer token's header is not a JSON object.")
    return header


def _key_for(header: dict[str, Any], jwks: dict[str, Any]) -> RSAKey:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRefused("token_key_unknown", "The bearer token names no signing key (kid).")
    for jwk in jwks.get("keys", []):
        if jwk.get("kid") == kid and jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig":
            try:
                return RSAKey.import_key(jwk)
            except (JoseError, ValueError, TypeError) as exc:
                raise TokenRefused(
                    "token_key_unknown", f"The issuer's key {kid!r} cannot be used."
                ) from exc
    raise UnknownKey(kid)


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRefused("token_malformed", f"The bearer token's {name!r} is not a number.")
    return float(value)


def check_claims(
    claims: dict[str, Any], *, issuer: str, audience: str, leeway: float, now: float
) -> None:
    if claims.get("iss") != issuer:
        # Exact comparison: Auth0's issuer ends with "/" and "https://x" is another issuer.
        raise TokenRefused("token_issuer_invalid", "The bearer token was issued by someone else.")
    if audience not in _audiences(claims):
        raise TokenRefused("token_audience_invalid", "The bearer token is not for this API.")
    exp = _number(claims, "exp")
    if exp is None:
        raise TokenRefused("token_malformed", "The bearer token has no expiry (exp).")
    if now > exp + leeway:
        raise TokenRefused("token_expired", "The bearer token has expired; get a new one.")
    nbf = _number(claims, "nbf")
    if nbf is not None and now + leeway < nbf:
        raise TokenRefused("token_not_yet_valid", "The bearer token is not valid yet (nbf).")
    iat = _number(claims, "iat")
    if iat is not None and now + leeway < iat:
        raise TokenRefused("token_not_yet_valid", "The bearer token was issued in the future.")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenRefused("token_malformed", "The bearer token names no subject (sub).")


def verify(
    token: str,
    *,
    jwks: dict[str, Any],
    issuer: str,
    audience: str,
    leeway: float = 30,
    now: float | None = None,
) -> VerifiedToken:
    """The token's header and claims if every check passes. Raises ``UnknownKey`` when the key
    set lacks the token's key id (the caller may refetch the keys once and call again)."""
    header = unverified_header(token)
    if header.get("alg") != ALGORITHM:
        # Refuses "none" and, above all, HS256 "signed" with the issuer's public key as a secret.
        raise TokenRefused(
            "token_algorithm_not_allowed",
            f"Bearer tokens must be signed with {ALGORITHM}, not {header.get('alg')!r}.",
        )
    key = _key_for(header, jwks)
    try:
        compact = jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
    except JoseError as exc:
        raise TokenRefused(
            "token_signature_invalid", "The bearer token's signature does not verify."
        ) from exc
    try:
        claims = json.loads(compact.payload)
    except ValueError as exc:
        raise TokenRefused("token_malformed", "The bearer token's claims are not JSON.") from exc
    if not isinstance(claims, dict):
        raise TokenRefused("token_malformed", "The bearer token's claims are not a JSON object.")
    check_claims(
        claims,
        issuer=issuer,
        audience=audience,
        leeway=leeway,
        now=time.time() if now is None else now,
    )
    return VerifiedToken(header=header, claims=claims)
