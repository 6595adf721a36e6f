"""Linking an AT Protocol account: the API, encryption at rest, sessions, and the commands."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from federation import secrets
from federation.models import AtprotoAccount
from federation.services import account_session, tape_federate, tape_federation_start
from federation.services.sessions import decrypt
from tapes.models import Tape
from tests.federation.conftest import COLLECTION, expire_access_token
from tests.support.pds import Pds

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
    assert other_tape.at == {}


def test_a_valid_stored_session_is_reused_without_any_call(
    user: Any, link: Callable[..., Any]
) -> None:
    account, _ = link(user)
    before = decrypt(AtprotoAccount.objects.get(pk=account.pk).session)
    session = account_session(account_id=account.pk)
    account.refresh_from_db()
    assert (account.logins, account.refreshes) == (1, 0)
    assert json.loads(before)["accessJwt"] == session.access_jwt


def test_an_expired_access_token_is_refreshed_and_the_rotated_session_saved(
    user: Any, link: Callable[..., Any], pds: Pds
) -> None:
    account, remote = link(user)
    old_refresh = json.loads(decrypt(account.session))["refreshJwt"]
    expire_access_token(account)
    session = account_session(account_id=account.pk)
    account.refresh_from_db()
    assert (account.logins, account.refreshes) == (1, 1)
    stored = json.loads(decrypt(account.session))
    assert stored["refreshJwt"] == session.refresh_jwt != old_refresh
    # The saved session is the live one: the PDS accepts it (plain XRPC).
    me = requests.get(
        pds.xrpc_url("com.atproto.server.getSession"),
        headers={"Authorization": f"Bearer {stored['accessJwt']}"},
        timeout=30,
    )
    assert me.status_code == 200 and me.json()["did"] == remote.did


@pytest.mark.django_db(transaction=True)
def test_concurrent_renewals_spend_the_refresh_token_once(
    user: Any, link: Callable[..., Any], pds: Pds
) -> None:
    account, _remote = link(user)
    expire_access_token(account)
    results: list[str] = []
    errors: list[BaseException] = []

    def renew() -> None:
        try:
            results.append(account_session(account_id=account.pk).access_jwt)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=renew) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(set(results)) == 1
    account.refresh_from_db()
    assert (account.logins, account.refreshes) == (1, 1)


def test_rotating_the_key_re_encrypts_every_credential(
    user: Any, link: Callable[..., Any], settings: Any
) -> None:
    account, remote = link(user)
    old_keys = list(settings.ATPROTO_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.ATPROTO_ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("atproto_rotate_key")
    account.refresh_from_db()
    # Readable with the new key alone, not with the old one.
    assert secrets.decrypt(account.app_password, [new_key]) == remote.app_password
    secrets.decrypt(account.session, [new_key])
    with pytest.raises(secrets.SecretsError):
        secrets.decrypt(account.app_password, old_keys)
    settings.ATPROTO_ENCRYPTION_KEYS = [new_key]
    assert account_session(account_id=account.pk).did == remote.did


def test_provision_creates_and_links_accounts_on_the_sites_pds(
    user: Any, other_user: Any, settings: Any, atproto_settings: Pds, capsys: Any
) -> None:
    settings.ATPROTO_PDS_URL = atproto_settings.url
    settings.ATPROTO_PDS_ADMIN_PASSWORD = atproto_settings.admin_password
    call_command("atproto_provision", "--all")
    out = capsys.readouterr().out
    accounts = {a.user_id: a for a in AtprotoAccount.objects.all()}
    assert set(accounts) == {user.pk, other_user.pk}
    for account in accounts.values():
        assert account.provisioned and account.handle.endswith(".test")
        assert account.handle in out
        # The account is real: its DID resolves on the PDS and the stored app password works.
        resolved = requests.get(
            atproto_settings.xrpc_url("com.atproto.identity.resolveHandle"),
            params={"handle": account.handle},
            timeout=30,
        )
        assert resolved.json()["did"] == account.did
        atproto_settings.login(account.did, decrypt(account.app_password))
    # Users who have one are left alone.
    call_command("atproto_provision", "--all")
    assert AtprotoAccount.objects.count() == 2


def test_provision_with_an_invite_code_instead_of_the_admin_password(
    user: Any, settings: Any, atproto_settings: Pds
) -> None:
    settings.ATPROTO_PDS_URL = atproto_settings.url
    settings.ATPROTO_PDS_ADMIN_PASSWORD = ""
    settings.ATPROTO_PDS_INVITE_CODE = atproto_settings.invite_code()
    call_command("atproto_provision", user.username)
    account = AtprotoAccount.objects.get(user=user)
    atproto_settings.login(account.did, decrypt(account.app_password))


def test_publish_lexicon_writes_the_schema_record_idempotently(
    settings: Any, atproto_settings: Pds, capsys: Any
) -> None:
    site = atproto_settings.create_account()
    settings.ATPROTO_SITE_IDENTIFIER = site.handle
    settings.ATPROTO_SITE_APP_PASSWORD = site.app_password
    call_command("atproto_publish_lexicon")
    first = capsys.readouterr().out
    assert "published: at://" in first
    assert f'_lexicon.aesthetic.computer with the value "did={site.did}"' in first
    got = atproto_settings.get_record(
        site.did, "com.atproto.lexicon.schema", "computer.aesthetic.tape"
    )
    assert got.status_code == 200
    value = got.json()["value"]
    doc = json.loads((settings.ATPROTO_LEXICON_DIR / "computer/aesthetic/tape.json").read_text())
    assert value == {"$type": "com.atproto.lexicon.schema", **doc}
    call_command("atproto_publish_lexicon")
    assert "unchanged" in capsys.readouterr().out
    assert len(atproto_settings.list_records(site.did, "com.atproto.lexicon.schema")) == 1
