"""The account page: link and unlink with a form (CSRF enforced), against the real PDS."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from federation.models import AtprotoAccount
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def test_a_signed_in_user_links_and_unlinks_on_the_page(user: Any, atproto_settings: Pds) -> None:
    remote = atproto_settings.create_account()
    browser = Client(enforce_csrf_checks=True)
    assert browser.get("/me/atproto/").status_code == 302  # sign in first
    browser.force_login(user)
    page = browser.get("/me/atproto/")
    assert page.status_code == 200 and b"App password" in page.content
    token = page.cookies["csrftoken"].value
    without_csrf = browser.post(
        "/me/atproto/", {"identifier": remote.handle, "app_password": remote.app_password}
    )
    assert without_csrf.status_code == 403

    wrong = browser.post(
        "/me/atproto/",
        {"identifier": remote.handle, "app_password": "nope", "csrfmiddlewaretoken": token},
    )
    assert wrong.status_code == 400 and b'data-code="pds_auth_failed"' in wrong.content

    linked = browser.post(
        "/me/atproto/",
        {
            "identifier": remote.handle,
            "app_password": remote.app_password,
            "csrfmiddlewaretoken": token,
        },
        follow=True,
    )
    assert linked.status_code == 200
    assert remote.did.encode() in linked.content
    assert remote.app_password.encode() not in linked.content
    assert AtprotoAccount.objects.get(user=user).did == remote.did

    browser.post("/me/atproto/", {"action": "unlink", "csrfmiddlewaretoken": token})
    assert not AtprotoAccount.objects.filter(user=user).exists()
