"""/me and the site's own accounts (no Auth0): the user's tapes with failures and a retry, the
linked AT Protocol account and failed federations with a retry, username changes, sign-up and
sign-in forms behind the same buttons."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from federation.errors import CODES
from federation.models import FederationState, TapeFederation
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapes.services import tape_reencode
from tapes.services.status import tape_status_set
from tapesite.errors import TapesiteError
from tests.accounts.factories import UserFactory
from tests.federation.factories import AtprotoAccountFactory, TapeFederationFactory
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_auth0(settings: Any) -> None:
    settings.AUTH0_DOMAIN = settings.AUTH0_ISSUER = ""


@pytest.fixture
def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def owned_tape(api: APIClient, post_tape: Any, user: User) -> Tape:
    api.force_login(user)
    code = post_tape().json()["code"]
    return Tape.objects.get(code=code)


def test_me_needs_signing_in(no_auth0: None) -> None:
    response = Client().get("/me")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/me")


# Transactional: the retry is enqueued when its transaction commits, before the page answers,
# as in production (the page says whether it is back on the queue).
@pytest.mark.django_db(transaction=True)
def test_me_lists_the_users_tapes_with_failures_and_a_retry(
    browser: Client,
    api: APIClient,
    post_tape: Any,
    user: User,
    other_user: User,
) -> None:
    ok = owned_tape(api, post_tape, user)
    broken = owned_tape(api, post_tape, user)
    tape_status_set(
        tape_id=broken.pk,
        status=TapeStatus.FAILED,
        failure_code="validation_no_frames",
        failure_message="The archive has no frames.",
    )
    theirs = owned_tape(api, post_tape, other_user)
    page = browser.get("/me")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"!{ok.code}" in html and f"!{broken.code}" in html
    assert f"!{theirs.code}" not in html
    assert 'data-code="validation_no_frames"' in html and "The archive has no frames." in html
    assert f"/me/tapes/{broken.code}/retry" in html
    assert f"/me/tapes/{ok.code}/retry" not in html
    assert 'id="atproto" data-linked="false"' in html and 'href="/me/atproto/"' in html

    queue = django_rq.get_queue(ENCODE.queue)
    queue.empty()
    response = browser.post(f"/me/tapes/{broken.code}/retry")
    assert response.status_code == 302
    broken.refresh_from_db()
    assert broken.status == TapeStatus.QUEUED and broken.failure_code == ""
    assert f"tape-encode-{broken.pk}" in queue.job_ids
    assert "queued again" in browser.get("/me").content.decode()


def test_a_retry_is_for_the_owners_failed_tapes_only(
    browser: Client, api: APIClient, post_tape: Any, user: User, other_user: User
) -> None:
    theirs = owned_tape(api, post_tape, other_user)
    tape_status_set(tape_id=theirs.pk, status=TapeStatus.FAILED, failure_code="x")
    assert browser.post(f"/me/tapes/{theirs.code}/retry").status_code == 404
    mine = owned_tape(api, post_tape, user)
    with pytest.raises(TapesiteError) as refused:
        tape_reencode(tape=mine, actor=user)
    assert refused.value.code == "tape_not_failed"
    with pytest.raises(TapesiteError) as forbidden:
        tape_reencode(tape=theirs, actor=user)
    assert forbidden.value.code == "forbidden"


@pytest.mark.parametrize(
    ("wanted", "code"),
    [
        ("x", "username_invalid"),
        ("has space", "username_invalid"),
        ("a" * 31, "username_invalid"),
        ("Admin", "username_invalid"),
        ("GRACE", "username_taken"),
    ],
)
def test_username_changes_are_checked(user: User, other_user: User, wanted: str, code: str) -> None:
    api = APIClient()
    api.force_login(user)
    response = api.patch("/api/me", {"username": wanted}, format="json")
    assert response.status_code in (400, 409)
    assert response.json()["error"]["code"] == code
    user.refresh_from_db()
    assert user.username == "ada"


def test_a_username_change_on_the_page(browser: Client, user: User, other_user: User) -> None:
    response = browser.post("/me/username", {"username": "Lovelace_1815"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.username == "Lovelace_1815"
    assert "Your username is now Lovelace_1815" in browser.get("/me").content.decode()
    browser.post("/me/username", {"username": "grace"})
    assert User.objects.get(pk=user.pk).username == "Lovelace_1815"
    assert "taken" in browser.get("/me").content.decode()


def test_the_same_buttons_lead_to_the_sites_own_forms_without_auth0(no_auth0: None) -> None:
    client = Client()
    home = client.get("/me", follow=True).content.decode()
    assert 'class="account-signin" href="/accounts/login/' in home
    assert client.get("/accounts/login/").status_code == 200
    page = client.get("/accounts/signup/?next=/tapes")
    assert page.status_code == 200 and b'name="password2"' in page.content
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "email": "new@example.com",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
            "next": "/tapes",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/tapes"
    user = User.objects.get(username="newcomer")
    assert user.sub is None and user.check_password("a long enough passphrase")
    assert client.get("/me").status_code == 200

    client.post("/accounts/logout/")
    assert client.get("/me").status_code == 302
    response = client.post(
        "/accounts/login/?next=/me",
        {"username": "newcomer", "password": "a long enough passphrase"},
    )
    assert response.status_code == 302
    assert client.get("/me").status_code == 200


def test_sign_up_refuses_weak_passwords_and_taken_names(no_auth0: None, user: User) -> None:
    client = Client()
    weak = client.post(
        "/accounts/signup/",
        {"username": "weakling", "password1": "123", "password2": "123"},
    )
    assert weak.status_code == 200 and not User.objects.filter(username="weakling").exists()
    taken = client.post(
        "/accounts/signup/",
        {"username": "ADA", "password1": "another fine phrase", "password2": "another fine phrase"},
    )
    assert taken.status_code == 200 and b"taken" in taken.content


def test_local_sign_out_goes_back_only_to_our_paths(no_auth0: None, browser: Client) -> None:
    response = browser.post("/accounts/logout/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_me_shows_the_linked_account_and_resends_a_failed_federation(
    browser: Client, user: User, django_capture_on_commit_callbacks: Any
) -> None:
    AtprotoAccountFactory.create(user=user, handle="ada.test", did="did:plc:ada")
    sent = ReadyTapeFactory.create(user=user)
    TapeFederationFactory.create(tape=sent, federated=True, did="did:plc:ada", rkey="3k")
    stuck = ReadyTapeFactory.create(user=user)
    TapeFederationFactory.create(
        tape=stuck,
        state=FederationState.FAILED,
        code="pds_blob_too_large",
        message="uploadBlob answered 413 at http://10.0.0.7:2583",
    )
    html = browser.get("/me").content.decode()
    assert 'data-linked="true"' in html and "@ada.test" in html and "did:plc:ada" in html
    assert 'href="/at/did:plc:ada/computer.aesthetic.tape/3k"' in html
    assert 'data-code="pds_blob_too_large"' in html
    # The code's fixed text, not the stored detail (the PDS's answer, its address).
    assert CODES["pds_blob_too_large"] in html and "10.0.0.7" not in html
    assert f"/me/tapes/{stuck.code}/federation/retry" in html
    assert f"/me/tapes/{sent.code}/federation/retry" not in html

    queue = django_rq.get_queue("federate")
    queue.empty()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(f"/me/tapes/{stuck.code}/federation/retry")
    assert response.status_code == 302
    fed = TapeFederation.objects.get(tape=stuck)
    assert (fed.state, fed.code) == (FederationState.PENDING, "")
    assert f"tape-federate-{stuck.pk}" in queue.job_ids
    # Someone else's tape is not theirs to resend.
    theirs = ReadyTapeFactory.create(user=UserFactory.create())
    assert browser.post(f"/me/tapes/{theirs.code}/federation/retry").status_code == 404
