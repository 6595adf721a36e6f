"""federation.xrpc's service auth: the DID a PDS names itself with, and getServiceAuth against
the reference PDS (the token it signs, and its refusals as the site's codes)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from federation import remote
from federation.xrpc import XrpcError, service_did
from tests.support.pds import Pds


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://morel.us-east.host.bsky.network", "did:web:morel.us-east.host.bsky.network"),
        ("https://pds.example.com/", "did:web:pds.example.com"),
        ("http://localhost:2583", "did:web:localhost"),  # the reference PDS: no port
    ],
)
def test_service_did_is_the_hosts(url: str, did: str) -> None:
    assert service_did(url) == did


def test_service_did_needs_a_host() -> None:
    with pytest.raises(ValueError):
        service_did("not a url")


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.mark.django_db
def test_the_reference_pds_names_itself_as_service_did_says(atproto_settings: Pds) -> None:
    described = remote.pds(atproto_settings.url).call("com.atproto.server.describeServer")
    assert described["did"] == service_did(atproto_settings.url)


@pytest.mark.django_db
def test_get_service_auth_signs_a_token_for_the_audience_and_method(
    atproto_settings: Pds,
) -> None:
    account = atproto_settings.create_account()
    session = atproto_settings.login(account.did, account.app_password)
    exp = int(time.time()) + 1800
    token = remote.pds(atproto_settings.url).get_service_auth(
        aud="did:web:video.test",
        lxm="com.atproto.repo.uploadBlob",
        exp=exp,
        token=session["accessJwt"],
    )
    claims = _claims(token)
    assert (claims["iss"], claims["aud"], claims["lxm"], claims["exp"]) == (
        account.did,
        "did:web:video.test",
        "com.atproto.repo.uploadBlob",
        exp,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"exp": 2 * 3600}, "pds_rejected"),  # more than the hour the PDS allows
        ({"aud": "not a did"}, "pds_rejected"),
        ({"token": "garbage"}, "pds_auth_failed"),
    ],
)
def test_get_service_auth_refusals(
    atproto_settings: Pds, change: dict[str, Any], code: str
) -> None:
    account = atproto_settings.create_account()
    session = atproto_settings.login(account.did, account.app_password)
    args: dict[str, Any] = {
        "aud": "did:web:video.test",
        "lxm": "app.bsky.video.getUploadLimits",
        "exp": 600,
        "token": session["accessJwt"],
        **change,
    }
    args["exp"] = int(time.time()) + args["exp"]
    with pytest.raises(XrpcError) as caught:
        remote.pds(atproto_settings.url).get_service_auth(**args)
    assert caught.value.code == code
