"""Pure parts of accounts: usernames, the token checks, the all-or-nothing Auth0 settings."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from joserfc import jws
from joserfc.jwk import RSAKey

from accounts import bearer, usernames
from tapesite.settings.base import auth0_settings_check
from tests.support.oidc import new_signing_key
from tests.tapesite.test_settings import COMPLETE, load_production

ISSUER = "https://tenant.example/"
AUDIENCE = "https://api.example/"


@pytest.mark.parametrize(
    ("nickname", "base"),
    [
        ("ada", "ada"),
        ("Ada Lovelace", "ada-lovelace"),
        ("Zoë_Ø!", "zoe"),
        ("", "user"),
        ("a", "a-user"),
        ("admin", "admin-user"),
        ("x" * 80, "x" * 24),
    ],
)
def test_username_base(nickname: str, base: str) -> None:
    made = usernames.username_base(nickname)
    assert made == base
    assert usernames.username_problem(made) is None


def test_username_candidates_number_then_randomise() -> None:
    found = usernames.username_candidates("ada", random_suffixes=["f00d"])
    assert found[:3] == ["ada", "ada-2", "ada-3"] and found[-1] == "ada-f00d"


@pytest.mark.parametrize("bad", ["a", "with space", "semi;colon", "ME", "a" * 31, "ünï"])
def test_username_problems(bad: str) -> None:
    assert usernames.username_problem(bad)


KEY = new_signing_key()
JWKS = {"keys": [{k: v for k, v in KEY.items() if k in ("kty", "n", "e", "kid", "use", "alg")}]}


def token(**claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "auth0|1", "iat": now, "exp": now + 60}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    header = {"alg": "RS256", "kid": KEY["kid"]}
    return jws.serialize_compact(
        header, json.dumps(body).encode(), RSAKey.import_key(KEY), algorithms=["RS256"]
    )


def check(value: str, leeway: float = 30) -> bearer.VerifiedToken:
    return bearer.verify(value, jwks=JWKS, issuer=ISSUER, audience=AUDIENCE, leeway=leeway)


def refused(value: str) -> str:
    with pytest.raises(bearer.TokenRefused) as caught:
        check(value)
    assert caught.value.status == 401
    return caught.value.code


def test_a_good_token_and_an_audience_list() -> None:
    assert check(token()).sub == "auth0|1"
    both = check(token(aud=[AUDIENCE, ISSUER + "userinfo"], scope="openid read:tapes"))
    assert both.scopes == {"openid", "read:tapes"}


def test_each_claim_is_checked() -> None:
    now = int(time.time())
    assert refused(token(exp=None)) == "token_malformed"
    assert refused(token(exp="soon")) == "token_malformed"
    assert refused(token(sub=None)) == "token_malformed"
    assert refused(token(iat=now + 600)) == "token_not_yet_valid"
    assert refused(token(aud=["https://other/"])) == "token_audience_invalid"
    assert refused(token(iss="https://tenant.example")) == "token_issuer_invalid"
    assert check(token(exp=now - 20)).sub  # within the leeway
    assert refused(token(exp=now - 40)) == "token_expired"


def test_an_unknown_kid_is_left_to_the_caller() -> None:
    with pytest.raises(bearer.UnknownKey):
        bearer.verify(token(), jwks={"keys": []}, issuer=ISSUER, audience=AUDIENCE)


def test_auth0_settings_are_all_or_nothing() -> None:
    auth0_settings_check({})
    full = {
        "AUTH0_DOMAIN": "tenant.example",
        "AUTH0_CLIENT_ID": "id",
        "AUTH0_CLIENT_SECRET": "secret",
        "AUTH0_AUDIENCE": AUDIENCE,
    }
    auth0_settings_check(full)
    for missing in full:
        with pytest.raises(ImproperlyConfigured, match=missing):
            auth0_settings_check({k: v for k, v in full.items() if k != missing})


def test_production_fails_loudly_on_a_half_configured_auth0() -> None:
    whole = {
        **COMPLETE,
        "AUTH0_DOMAIN": "tenant.example",
        "AUTH0_CLIENT_ID": "id",
        "AUTH0_CLIENT_SECRET": "secret",
        "AUTH0_AUDIENCE": AUDIENCE,
    }
    assert load_production(whole).returncode == 0
    half = load_production({**COMPLETE, "AUTH0_DOMAIN": "tenant.example"})
    assert half.returncode != 0 and "Auth0 is half configured" in half.stderr
    plain = load_production({**whole, "AUTH0_ISSUER": "http://tenant.example/"})
    assert plain.returncode != 0 and "https" in plain.stderr
    assert load_production(COMPLETE).returncode == 0  # no Auth0 at all: the site's own accounts
