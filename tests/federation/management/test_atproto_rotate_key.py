"""manage.py atproto_rotate_key: every stored credential re-encrypted under the new key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from federation import secrets
from federation.services import account_session

pytestmark = pytest.mark.django_db


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
