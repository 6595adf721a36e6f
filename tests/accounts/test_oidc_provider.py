"""The local provider behaves like Auth0 where the site depends on it: if it drifted, the other
accounts tests would prove less."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from tests.support.oidc import API_AUDIENCE, WEB_CLIENT, OidcProvider


def _part(token: str, index: int) -> dict[str, Any]:
    raw = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))))


def test_discovery_looks_like_an_auth0_tenant(oidc_provider: OidcProvider) -> None:
    found = requests.get(oidc_provider.issuer + ".well-known/openid-configuration", timeout=5)
    meta = found.json()
    assert meta["issuer"] == oidc_provider.issuer and meta["issuer"].endswith("/")
    assert meta["authorization_endpoint"] == oidc_provider.issuer + "authorize"
    assert meta["token_endpoint"] == oidc_provider.issuer + "oauth/token"
    assert meta["userinfo_endpoint"] == oidc_provider.issuer + "userinfo"
    assert meta["jwks_uri"] == oidc_provider.issuer + ".well-known/jwks.json"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "end_session_endpoint" in meta


def test_pkce_is_required(oidc_provider: OidcProvider) -> None:
    url, _ = oidc_provider.authorize_url(code_challenge="", code_challenge_method="")
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code in (302, 303)
    assert "error=invalid_request" in response.headers["Location"]
    assert "requires+PKCE" in response.headers["Location"]


def test_a_person_gets_an_rs256_jwt_for_the_api_and_a_profile_id_token(
    oidc_provider: OidcProvider,
) -> None:
    oidc_provider.account("auth0|pro1", nickname="pro", name="Pro One", email="p@example.com")
    tokens = oidc_provider.user_tokens("auth0|pro1")
    header, claims = _part(tokens["access_token"], 0), _part(tokens["access_token"], 1)
    assert header["alg"] == "RS256" and header["kid"] == oidc_provider.keys[0]["kid"]
    assert claims["aud"] == API_AUDIENCE and claims["iss"] == oidc_provider.issuer
    assert claims["sub"] == "auth0|pro1"
    id_claims = _part(tokens["id_token"], 1)
    # conformIdTokenClaims off: the profile is in the ID token, as Auth0 does it.
    assert id_claims["nickname"] == "pro" and id_claims["email"] == "p@example.com"
    assert id_claims["aud"] == WEB_CLIENT[0]
    info = requests.get(
        oidc_provider.issuer + "userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert info.status_code == 200 and info.json()["name"] == "Pro One"


def test_machine_tokens_name_their_audience(oidc_provider: OidcProvider) -> None:
    claims = _part(oidc_provider.machine_token(), 1)
    assert claims["aud"] == API_AUDIENCE and claims["gty"] == "client-credentials"
    response = requests.post(
        oidc_provider.issuer + "oauth/token",
        auth=("tapesite-machine", "machine-client-secret-for-tests"),
        data={"grant_type": "client_credentials", "audience": "https://unknown.example/"},
        timeout=5,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"
