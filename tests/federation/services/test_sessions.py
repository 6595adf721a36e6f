"""PDS sessions (federation/services/sessions.py) against the real PDS: a stored session is
reused, an expired one refreshed and saved, and concurrent renewals spend the refresh token once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.db import connection

from federation.models import AtprotoAccount
from federation.services import account_session
from federation.services.sessions import decrypt
from tests.federation.conftest import expire_access_token
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


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
