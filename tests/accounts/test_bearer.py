"""API bearer tokens from the real provider: accepted and mapped to the same user as the browser
sign-in; every kind of bad token refused with 401 and its own code; the keys fetched rarely."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from django.test import Client
from joserfc.jwk import RSAKey
from rest_framework.test import APIClient

from accounts.models import User
from tests.support.oidc import (
    MACHINE_CLIENT,
    OTHER_AUDIENCE,
    OidcProvider,
    callback_path,
    new_signing_key,
)

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def me(token: str, client: APIClient | None = None) -> Any:
    return (client or APIClient()).get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def refused(response: Any) -> str:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    return str(response.json()["error"]["code"])


def test_a_persons_token_is_the_same_user_as_their_browser_sign_in(auth0: OidcProvider) -> None:
    auth0.account("auth0|bea", nickname="bea", name="Bea Bearer", email="bea@example.com")
    browser = Client()
    authorize = browser.get("/accounts/login/")["Location"]
    browser.get(callback_path(auth0.sign_in(requests.Session(), authorize, "auth0|bea")))
    signed_in = User.objects.get(sub="auth0|bea")

    token = auth0.user_tokens("auth0|bea")["access_token"]
    response = me(token)
    assert response.status_code == 200, response.content
    assert response.json()["username"] == signed_in.username == "bea"
    assert User.objects.filter(sub="auth0|bea").count() == 1


def test_a_new_person_seen_first_through_a_token_gets_their_profile_from_userinfo(
    auth0: OidcProvider,
) -> None:
    auth0.account("auth0|tok", nickname="toki", name="Toki Token", email="toki@example.com")
    token = auth0.user_tokens("auth0|tok")["access_token"]
    before = auth0.stats()
    assert me(token).status_code == 200
    user = User.objects.get(sub="auth0|tok")
    assert (user.username, user.name, user.email) == ("toki", "Toki Token", "toki@example.com")
    assert auth0.stats()["userinfo"] == before["userinfo"] + 1
    for _ in range(3):
        assert me(token).status_code == 200
    # Known people are not looked up again, and the keys come from the cache.
    after = auth0.stats()
    assert after["userinfo"] == before["userinfo"] + 1
    assert after["jwks"] == before["jwks"] + 1


def test_a_machine_token_works_without_userinfo(auth0: OidcProvider) -> None:
    before = auth0.stats()["userinfo"]
    response = me(auth0.machine_token())
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == MACHINE_CLIENT[0]
    assert auth0.stats()["userinfo"] == before


def test_bearer_writes_need_no_csrf_token_but_session_writes_do(
    auth0: OidcProvider, user: User
) -> None:
    auth0.account("auth0|w", nickname="writer")
    token = auth0.user_tokens("auth0|w")["access_token"]
    strict = APIClient(enforce_csrf_checks=True)
    response = strict.patch(
        "/api/me", {"username": "scribe"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200, response.content
    assert User.objects.get(sub="auth0|w").username == "scribe"

    session = APIClient(enforce_csrf_checks=True)
    session.force_login(user)
    response = session.patch("/api/me", {"username": "ada2"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(user)
    page = csrf.get("/me")
    token_value = page.context["csrf_token"]
    with_token = csrf.patch(
        "/api/me",
        json.dumps({"username": "ada2"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=str(token_value),
    )
    assert with_token.status_code == 200, with_token.content


def test_expired_tokens_are_refused_after_a_small_leeway(auth0: OidcProvider) -> None:
    now = int(time.time())
    recent = auth0.sign(auth0.access_claims("auth0|lee", iat=now - 700, exp=now - 10))
    assert me(recent).status_code == 200  # 10 s late: within the clock leeway
    old = auth0.sign(auth0.access_claims("auth0|lee", iat=now - 700, exp=now - 120))
    assert refused(me(old)) == "token_expired"


def test_not_yet_valid_tokens_are_refused(auth0: OidcProvider) -> None:
    now = int(time.time())
    early = auth0.sign(auth0.access_claims("auth0|nbf", nbf=now + 300))
    assert refused(me(early)) == "token_not_yet_valid"


def test_a_tampered_token_is_refused(auth0: OidcProvider) -> None:
    auth0.account("auth0|tam", nickname="tam")
    header, payload, signature = auth0.user_tokens("auth0|tam")["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "auth0|someone-else"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert refused(me(forged)) == "token_signature_invalid"
    assert not User.objects.filter(sub="auth0|someone-else").exists()


def test_a_token_for_another_api_is_refused(auth0: OidcProvider) -> None:
    assert refused(me(auth0.machine_token(OTHER_AUDIENCE))) == "token_audience_invalid"


def test_a_token_from_another_issuer_is_refused(auth0: OidcProvider) -> None:
    for issuer in ("https://evil.example/", auth0.issuer.rstrip("/")):
        forged = auth0.sign(auth0.access_claims("auth0|iss", iss=issuer))
        assert refused(me(forged)) == "token_issuer_invalid"


def test_an_unsigned_token_is_refused(auth0: OidcProvider) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(auth0.access_claims("auth0|none")).encode())
    assert refused(me(f"{header}.{payload}.")) == "token_algorithm_not_allowed"


def test_hs256_signed_with_the_public_key_is_refused(auth0: OidcProvider) -> None:
    public = RSAKey.import_key(auth0.keys[0]).public_key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "kid": auth0.keys[0]["kid"]}).encode())
    payload = b64(json.dumps(auth0.access_claims("auth0|hs")).encode())
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert refused(me(f"{header}.{payload}.{b64(mac)}")) == "token_algorithm_not_allowed"
    assert not User.objects.filter(sub="auth0|hs").exists()


def test_an_unknown_key_refetches_the_keys_once_and_is_refused(auth0: OidcProvider) -> None:
    assert me(auth0.sign(auth0.access_claims("auth0|kid"))).status_code == 200
    base = auth0.stats()["jwks"]
    stranger = new_signing_key()
    forged = auth0.sign(auth0.access_claims("auth0|kid2"), key=stranger)
    assert refused(me(forged)) == "token_key_unknown"
    assert auth0.stats()["jwks"] == base + 1  # refetched once, in case the keys had rotated
    for _ in range(3):
        another = auth0.sign(auth0.access_claims("auth0|kid3"), key=new_signing_key())
        assert refused(me(another)) == "token_key_unknown"
    # Within the cooldown, made-up key ids cost the provider nothing.
    assert auth0.stats()["jwks"] == base + 1


def test_garbage_is_refused_as_malformed(auth0: OidcProvider) -> None:
    assert refused(me("not-a-jwt")) == "token_malformed"
    assert refused(me("a.b.c")) == "token_malformed"
    response = APIClient().get("/api/me", HTTP_AUTHORIZATION="Bearer two tokens")
    assert refused(response) == "token_malformed"


def test_bearer_tokens_are_refused_when_the_site_has_no_auth0(settings: Any) -> None:
    settings.AUTH0_DOMAIN = settings.AUTH0_ISSUER = ""
    assert refused(me("x.y.z")) == "bearer_not_supported"


def test_no_credentials_is_a_401_with_the_bearer_challenge(auth0: OidcProvider) -> None:
    response = APIClient().get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.fixture
def rotating_provider(tmp_path: Path, settings: Any) -> Iterator[OidcProvider]:
    """A provider of this test's own, whose keys it may rotate."""
    from accounts.auth0 import cache

    provider = OidcProvider(workdir=tmp_path, redirect_uris=[], logout_uris=[])
    provider.start()
    settings.AUTH0_DOMAIN = ""
    settings.AUTH0_ISSUER = provider.issuer
    settings.AUTH0_CLIENT_ID, settings.AUTH0_CLIENT_SECRET = "tapesite-web", "unused"
    from tests.support.oidc import API_AUDIENCE

    settings.AUTH0_AUDIENCE = API_AUDIENCE
    cache.clear()
    try:
        yield provider
    finally:
        provider.stop()
        cache.clear()


def test_rotated_keys_are_picked_up_at_the_first_token_signed_with_them(
    rotating_provider: OidcProvider,
) -> None:
    provider = rotating_provider
    old_key = provider.keys[0]
    assert me(provider.machine_token()).status_code == 200
    provider.restart(keys=[new_signing_key(), old_key])  # the new key signs from now on
    fresh = provider.machine_token()
    assert json.loads(base64.urlsafe_b64decode(fresh.split(".")[0] + "=="))["kid"] != old_key["kid"]
    assert me(fresh).status_code == 200
    assert provider.stats()["jwks"] == 1  # (the restarted provider counts from zero)
    assert me(provider.sign(provider.access_claims("auth0|old"), key=old_key)).status_code == 200


def test_tokens_still_verify_when_the_shared_cache_is_down(
    auth0: OidcProvider, settings: Any
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "auth0": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens on the discard port: every cache call fails at once.
            "LOCATION": "redis://127.0.0.1:9/0?socket_connect_timeout=0.2",
        },
    }
    base = auth0.stats()["jwks"]
    token = auth0.sign(auth0.access_claims("auth0|nocache"))
    for _ in range(3):
        assert me(token).status_code == 200
    # Each process keeps its own copy meanwhile: one fetch, not one per request.
    assert auth0.stats()["jwks"] == base + 1
