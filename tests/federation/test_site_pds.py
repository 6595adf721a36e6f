"""Creating an account on the site's own PDS from the AT Protocol page, in one step, against the
real reference PDS: created and linked (a tape then federates), a taken handle refused with a free
one suggested, a PDS that is down, and no offer when the site runs no PDS."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from federation.models import AtprotoAccount, FederationState
from federation.services.sessions import decrypt
from tapes.models import Tape
from tests.federation.conftest import COLLECTION, at_of, federate
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db

OFFER = b"Create an account on this site's PDS"


@pytest.fixture
def site_pds(settings: Any, atproto_settings: Pds) -> Pds:
    settings.ATPROTO_PDS_URL = atproto_settings.url
    settings.ATPROTO_PDS_ADMIN_PASSWORD = atproto_settings.admin_password
    settings.ATPROTO_PDS_INVITE_CODE = ""
    return atproto_settings


def signed_in(user: Any) -> tuple[Client, str]:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get("/me/atproto/")
    return browser, page.cookies["csrftoken"].value


def create(browser: Client, token: str, name: str) -> Any:
    return browser.post(
        "/me/atproto/",
        {"action": "create", "handle_name": name, "csrfmiddlewaretoken": token},
    )


def test_one_post_creates_the_account_on_the_sites_pds_and_links_it(
    user: Any, site_pds: Pds, ready_tape: Callable[..., Tape]
) -> None:
    browser, token = signed_in(user)
    page = browser.get("/me/atproto/")
    assert OFFER in page.content and b'value="ada"' in page.content and b".test" in page.content
    name = f"ada{secrets.token_hex(3)}"
    answer = create(browser, token, name)
    assert answer.status_code == 302 and answer["Location"].endswith("?done=created")

    account = AtprotoAccount.objects.get(user=user)
    assert account.handle == f"{name}.test" and account.provisioned
    assert account.pds_url == site_pds.url
    app_password = decrypt(account.app_password)
    # The stored password is an app password (the PDS signs it in with the app-pass scope).
    assert site_pds.login(account.handle, app_password)["did"] == account.did
    shown = browser.get(answer["Location"]).content
    assert f"@{name}.test".encode() in shown and app_password.encode() not in shown
    assert OFFER not in shown

    # The session the site keeps works: a tape federates to the new account.
    tape = ready_tape(user)
    assert federate(tape).state == FederationState.DONE
    records = site_pds.list_records(account.did, COLLECTION)
    assert [r["uri"] for r in records] == [at_of(tape)["uri"]]


def test_a_taken_handle_is_refused_with_a_free_one_suggested(
    user: Any, other_user: Any, site_pds: Pds
) -> None:
    taken = site_pds.create_account(name=f"gr{secrets.token_hex(3)}")
    name = taken.handle.removesuffix(".test")
    browser, token = signed_in(other_user)
    answer = create(browser, token, name)
    assert answer.status_code == 400
    assert b'data-code="atproto_handle_taken"' in answer.content
    assert not AtprotoAccount.objects.filter(user=other_user).exists()
    suggestion = answer.context["suggestion"]
    assert suggestion.startswith(name[:14]) and suggestion != name
    assert f'value="{suggestion}"'.encode() in answer.content, "the suggestion is filled in"
    # The suggestion is free: taking it works.
    assert create(browser, token, suggestion).status_code == 302
    assert AtprotoAccount.objects.get(user=other_user).handle == f"{suggestion}.test"


def test_an_invalid_handle_and_an_account_already_linked_are_refused(
    user: Any, site_pds: Pds
) -> None:
    browser, token = signed_in(user)
    bad = create(browser, token, "a_b")
    assert bad.status_code == 400 and b'data-code="atproto_handle_invalid"' in bad.content
    assert create(browser, token, f"ok{secrets.token_hex(3)}").status_code == 302
    again = create(browser, token, f"ok{secrets.token_hex(3)}")
    assert again.status_code == 400 and b'data-code="atproto_already_linked"' in again.content


def test_a_site_pds_that_is_down_is_a_clear_error(
    user: Any, settings: Any, atproto_settings: Pds, pds_factory: Callable[..., Pds]
) -> None:
    down = pds_factory()
    settings.ATPROTO_PDS_URL = down.url
    settings.ATPROTO_PDS_ADMIN_PASSWORD = down.admin_password
    down.stop()
    browser, token = signed_in(user)
    answer = create(browser, token, f"dn{secrets.token_hex(3)}")
    assert answer.status_code == 400
    assert b'data-code="atproto_site_pds_unreachable"' in answer.content
    assert b"not answering" in answer.content
    assert not AtprotoAccount.objects.filter(user=user).exists()


def test_no_offer_when_the_site_runs_no_pds(
    user: Any, settings: Any, atproto_settings: Pds
) -> None:
    settings.ATPROTO_PDS_URL = ""
    browser, token = signed_in(user)
    page = browser.get("/me/atproto/")
    assert page.status_code == 200 and OFFER not in page.content
    assert b"Link an account you already have" in page.content
    refused = create(browser, token, "ada")
    assert b'data-code="atproto_site_pds_unavailable"' in refused.content


def test_the_me_box_offers_the_sites_pds_only_when_it_runs_one(
    user: Any, settings: Any, site_pds: Pds
) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/me")
    request.user = user
    box = Template("{% load atproto %}{% atproto_me_box %}")
    shown = box.render(Context({"request": request}))
    assert "Create an account on this site's PDS" in shown and "@ada.test" in shown
    settings.ATPROTO_PDS_URL = ""
    shown = box.render(Context({"request": request}))
    assert "Create an account" not in shown and "Link one" in shown
