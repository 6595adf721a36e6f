"""manage.py atproto_provision: accounts created on the site's PDS and linked to users."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core.management import call_command

from federation.models import AtprotoAccount
from federation.services.sessions import decrypt
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


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
