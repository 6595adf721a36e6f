"""Linking an AT Protocol account through the API (federation/apis.py), against the real PDS:
resolution, stable error codes, no secrets shown, encryption at rest, and unlinking."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from federation.errors import CODES, GENERIC_MESSAGE, public_message
from federation.models import AtprotoAccount, FederationState
from federation.services import tape_federate, tape_federation_start
from federation.services.sessions import decrypt
from tapes.models import Tape
from tests.federation.conftest import COLLECTION, at_of
from tests.federation.factories import TapeFederationFactory
from tests.support.listeners import Listener, respond, settle, trickle
from tests.support.pds import Pds
from tests.support.plc import plc_create_did
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def link_via_api(api: Any, identifier: str, app_password: str) -> Any:
    return api.put(
        "/api/me/atproto",
        {"identifier": identifier, "app_password": app_password},
        format="json",
    )


def test_link_by_handle_resolves_through_the_local_plc_and_never_returns_secrets(
    api: Any, user: Any, atproto_settings: Pds, caplog: Any
) -> None:
    remote = atproto_settings.create_account()
    api.force_login(user)
    caplog.set_level(logging.DEBUG)
    response = link_via_api(api, "@" + remote.handle.upper(), remote.app_password)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["did"] == remote.did
    assert body["handle"] == remote.handle
    assert body["pds_url"] == atproto_settings.url
    assert body["state"] == "linked" and body["error"] is None
    shown = api.get("/api/me/atproto")
    assert shown.json() == body
    for text in (response.content.decode(), shown.content.decode(), caplog.text):
        assert remote.app_password not in text
        assert "Jwt" not in text

    # Encrypted at rest: neither the app password nor the tokens appear in the row.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app_password, session FROM federation_atprotoaccount WHERE did = %s",
            [remote.did],
        )
        stored_password, stored_session = cursor.fetchone()
    assert remote.app_password not in stored_password
    assert "eyJ" not in stored_session  # no JWT in the clear
    account = AtprotoAccount.objects.get(user=user)
    assert decrypt(account.app_password) == remote.app_password
    assert set(json.loads(decrypt(account.session))) == {"accessJwt", "refreshJwt"}


def test_link_by_did_and_relink_replaces_the_account(
    api: Any, user: Any, atproto_settings: Pds
) -> None:
    first = atproto_settings.create_account()
    second = atproto_settings.create_account()
    api.force_login(user)
    assert link_via_api(api, first.did, first.app_password).status_code == 200
    relinked = link_via_api(api, second.did, second.app_password)
    assert relinked.json()["did"] == second.did
    assert AtprotoAccount.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("identifier", "password", "code", "status"),
    [
        ("nobody-here.test", "x", "atproto_handle_not_found", 400),
        ("not a handle", "x", "atproto_identifier_invalid", 400),
        ("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "x", "atproto_did_not_found", 400),
        (None, "wrong-app-password", "pds_auth_failed", 400),
    ],
)
def test_link_errors_have_stable_codes(
    api: Any,
    user: Any,
    atproto_settings: Pds,
    identifier: str | None,
    password: str,
    code: str,
    status: int,
) -> None:
    remote = atproto_settings.create_account()
    api.force_login(user)
    response = link_via_api(api, identifier or remote.handle, password)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not AtprotoAccount.objects.filter(user=user).exists()


def test_the_main_password_is_refused_for_an_app_password(
    api: Any, user: Any, atproto_settings: Pds
) -> None:
    remote = atproto_settings.create_account()
    api.force_login(user)
    response = link_via_api(api, remote.handle, remote.password)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "atproto_main_password"
    assert "app password" in error["message"]
    assert remote.password not in response.content.decode()
    assert not AtprotoAccount.objects.filter(user=user).exists()
    # The app password of the same account links.
    assert link_via_api(api, remote.handle, remote.app_password).status_code == 200


def test_the_api_needs_a_signed_in_user(api: Any) -> None:
    assert api.get("/api/me/atproto").json()["error"]["code"] == "not_authenticated"
    assert api.put("/api/me/atproto", {}, format="json").status_code == 401


def test_unlink_keeps_records_unless_asked_to_delete_them(
    api: Any,
    user: Any,
    other_user: Any,
    link: Callable[..., Any],
    ready_tape: Callable[..., Tape],
    pds: Pds,
) -> None:
    api.force_login(user)
    _, remote = link(user)
    tape = ready_tape(user)
    tape_federation_start(tape=tape)
    tape_federate(tape_id=tape.pk)
    assert api.delete("/api/me/atproto").status_code == 204
    assert not AtprotoAccount.objects.filter(user=user).exists()
    assert len(pds.list_records(remote.did, COLLECTION)) == 1
    assert api.get("/api/me/atproto").status_code == 404

    api.force_login(other_user)
    _, other_remote = link(other_user)
    other_tape = ready_tape(other_user)
    tape_federation_start(tape=other_tape)
    tape_federate(tape_id=other_tape.pk)
    assert len(pds.list_records(other_remote.did, COLLECTION)) == 1
    assert api.delete("/api/me/atproto?delete_records=1").status_code == 204
    assert pds.list_records(other_remote.did, COLLECTION) == []
    other_tape.refresh_from_db()
    assert at_of(other_tape) == {}


def test_unlinking_with_delete_records_leaves_another_user_of_the_same_did_alone(
    api: Any,
    user: Any,
    other_user: Any,
    link: Callable[..., Any],
    ready_tape: Callable[..., Tape],
    pds: Pds,
) -> None:
    _, remote = link(user)
    api.force_login(other_user)
    # A second site user links the very same account.
    assert link_via_api(api, remote.did, remote.app_password).status_code == 200
    mine, theirs = ready_tape(user), ready_tape(other_user)
    for tape in (mine, theirs):
        tape_federation_start(tape=tape)
        tape_federate(tape_id=tape.pk)
    theirs_at = at_of(theirs)
    assert theirs_at and len(pds.list_records(remote.did, COLLECTION)) == 2

    api.force_login(user)
    assert api.delete("/api/me/atproto?delete_records=1").status_code == 204

    assert [r["uri"] for r in pds.list_records(remote.did, COLLECTION)] == [theirs_at["uri"]]
    assert at_of(theirs) == theirs_at
    assert at_of(mine) == {}
    api.force_login(other_user)
    assert api.get(f"/api/tapes/{theirs.code}").json()["federation"]["state"] == "done"
    assert api.get("/api/me/atproto").json()["did"] == remote.did


# --- what a user-named server can make the site do (issue 16) ----------------------------------


def test_linking_a_did_whose_pds_is_a_loopback_port_never_connects_to_it(
    api: Any, user: Any, atproto_settings: Pds, plc_url: str, listener: Callable[..., Listener]
) -> None:
    target = listener(respond())
    did = plc_create_did(plc_url, pds_endpoint=target.url)
    api.force_login(user)
    response = link_via_api(api, did, "aaaa-bbbb-cccc-dddd")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "egress_address_refused"
    assert error["message"] == public_message("egress_address_refused")
    assert str(target.port) not in response.content.decode()
    settle()
    assert target.connections == 0
    assert not AtprotoAccount.objects.filter(user=user).exists()


def test_a_pds_that_redirects_gets_no_second_request_and_the_password_goes_nowhere_else(
    api: Any,
    user: Any,
    atproto_settings: Pds,
    plc_url: str,
    settings: Any,
    listener: Callable[..., Listener],
) -> None:
    second = listener(respond())
    first = listener(
        respond("307 Temporary Redirect", b"", {"Location": f"{second.url}/xrpc/steal"})
    )
    # Both origins allowlisted: the redirect itself is what is refused.
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [
        *settings.TAPES_EGRESS_ALLOWED_ORIGINS,
        first.url,
        second.url,
    ]
    did = plc_create_did(plc_url, pds_endpoint=first.url)
    api.force_login(user)
    response = link_via_api(api, did, "aaaa-bbbb-cccc-dddd")
    assert response.status_code == 502, response.content
    assert response.json()["error"] == {
        "code": "egress_redirect",
        "message": public_message("egress_redirect"),
    }
    settle()
    assert (first.connections, second.connections) == (1, 0)
    assert b"aaaa-bbbb-cccc-dddd" in first.requests[0]
    assert second.requests == []


def test_the_pds_own_error_text_is_not_shown_to_the_user(
    api: Any,
    user: Any,
    atproto_settings: Pds,
    plc_url: str,
    settings: Any,
    listener: Callable[..., Listener],
    caplog: Any,
) -> None:
    said = b'{"error": "InvalidRequest", "message": "db at 10.0.0.7:5432 said: no such table"}'
    chatty = listener(respond("400 Bad Request", said))
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [*settings.TAPES_EGRESS_ALLOWED_ORIGINS, chatty.url]
    did = plc_create_did(plc_url, pds_endpoint=chatty.url)
    api.force_login(user)
    caplog.set_level(logging.INFO)
    response = link_via_api(api, did, "aaaa-bbbb-cccc-dddd")
    assert response.json()["error"] == {
        "code": "pds_rejected",
        "message": public_message("pds_rejected"),
    }
    assert "10.0.0.7" not in response.content.decode()
    assert "10.0.0.7" in caplog.text  # the detail is logged for the operator


def test_a_trickling_pds_ends_the_request_at_its_deadline(
    api: Any,
    user: Any,
    atproto_settings: Pds,
    plc_url: str,
    settings: Any,
    listener: Callable[..., Listener],
) -> None:
    slow = listener(trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", count=60))
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [*settings.TAPES_EGRESS_ALLOWED_ORIGINS, slow.url]
    settings.TAPES_PDS_TIMEOUT = (3.0, 3.0)
    did = plc_create_did(plc_url, pds_endpoint=slow.url)
    api.force_login(user)
    started = time.monotonic()
    response = link_via_api(api, did, "aaaa-bbbb-cccc-dddd")
    took = time.monotonic() - started
    assert response.status_code == 502, response.content
    assert response.json()["error"]["code"] == "pds_unreachable"
    # The listener would trickle for two minutes; the call ends at its 3 s deadline (the rest
    # is resolving the DID on the local PLC).
    assert took < 30, took


@pytest.mark.parametrize(
    ("viewer", "sees_detail"), [(None, False), ("user", False), ("moderator", True)]
)
def test_the_tape_api_shows_the_fixed_federation_message_and_staff_the_detail(
    api: Any, user: Any, request: pytest.FixtureRequest, viewer: str | None, sees_detail: bool
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    stored = (
        "uploadBlob answered 500: storage key u/7/line.mp4 at http://10.0.0.7:2583 "
        "Traceback: OSError"
    )
    TapeFederationFactory.create(
        tape=tape, state=FederationState.FAILED, code="pds_unreachable", message=stored
    )
    if viewer is not None:
        api.force_login(request.getfixturevalue(viewer))
    shown = api.get(f"/api/tapes/{tape.code}").json()["federation"]
    assert shown["state"] == "failed"
    assert shown["code"] == "pds_unreachable"
    assert shown["message"] == CODES["pds_unreachable"]
    if sees_detail:
        assert shown["detail"] == stored
    else:
        assert "detail" not in shown
        assert "10.0.0.7" not in json.dumps(shown)


def test_a_code_without_a_text_gets_the_generic_message(api: Any, user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    TapeFederationFactory.create(
        tape=tape, state=FederationState.FAILED, code="some_future_code", message="s3://k/x"
    )
    shown = api.get(f"/api/tapes/{tape.code}").json()["federation"]
    assert shown["message"] == GENERIC_MESSAGE
