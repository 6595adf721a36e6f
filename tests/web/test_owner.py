"""The owner's pages without a browser: the edit form, the delete confirmation, the undo, and
what unlisted means for the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tapes.models import Tape
from tests.federation.factories import AtprotoAccountFactory, TapeFederationFactory
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def test_the_tape_page_offers_the_owner_panel_only_to_the_owner(
    client: Client, owner_client: Client, user: Any
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    assert b'id="owner-panel"' in owner_client.get(f"/t/{tape.code}").content
    assert b'id="owner-panel"' not in client.get(f"/t/{tape.code}").content


def test_editing_shows_the_words_on_the_page_and_in_share_tags(
    owner_client: Client, user: Any
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    response = owner_client.post(
        f"/t/{tape.code}/edit",
        {
            "title": "Rain <3",
            "description": "Drawn on a train.",
            "alt_text": "Blue streaks falling",
            "visibility": "public",
        },
    )
    assert response.status_code == 302
    page = owner_client.get(response["Location"]).content.decode()
    assert '<h1 class="tape-title">Rain &lt;3</h1>' in page
    assert "Drawn on a train." in page
    assert '<meta property="og:title" content="Rain &lt;3">' in page
    assert '<meta property="og:description" content="Drawn on a train.">' in page
    assert "Saved." in page


def test_an_invalid_edit_shows_the_form_with_its_error(owner_client: Client, user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user, title="Kept")
    response = owner_client.post(f"/t/{tape.code}/edit", {"title": "x" * 101})
    assert response.status_code == 400
    assert b'class="field-error"' in response.content
    assert Tape.objects.get(pk=tape.pk).title == "Kept"


def test_only_what_was_sent_changes(owner_client: Client, user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user, title="Kept")
    owner_client.post(f"/t/{tape.code}/edit", {"visibility": "unlisted", "next": "/me"})
    tape.refresh_from_db()
    assert (tape.title, tape.visibility) == ("Kept", "unlisted")


def test_strangers_cannot_edit(user: Any, other_user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    client = Client()
    client.force_login(other_user)
    response = client.post(f"/t/{tape.code}/edit", {"title": "Mine"}, follow=True)
    assert "code-forbidden" in response.content.decode()
    assert Tape.objects.get(pk=tape.pk).title == ""


def test_delete_asks_then_deletes_and_me_offers_the_undo(owner_client: Client, user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user, title="Gone soon")
    confirm = owner_client.get(f"/t/{tape.code}/delete")
    assert confirm.status_code == 200 and b'id="confirm-delete"' in confirm.content
    assert not Tape.objects.get(pk=tape.pk).nuked
    done = owner_client.post(f"/t/{tape.code}/delete", follow=True)
    assert Tape.objects.get(pk=tape.pk).nuked
    page = done.content.decode()
    assert f"Deleted !{tape.code}" in page
    assert "Recently deleted" in page and "Gone soon" in page
    assert owner_client.get(f"/t/{tape.code}").status_code == 404
    owner_client.post(f"/t/{tape.code}/restore", {"next": "/me"})
    assert not Tape.objects.get(pk=tape.pk).nuked
    assert owner_client.get(f"/t/{tape.code}").status_code == 200


def test_unlisted_tapes_are_reachable_by_code_but_not_listed(
    client: Client, owner_client: Client, user: Any
) -> None:
    public = ReadyTapeFactory.create(user=user)
    unlisted = ReadyTapeFactory.create(user=user, visibility="unlisted")
    gallery = client.get("/tapes").content.decode()
    person = client.get(f"/u/{user.username}").content.decode()
    for listing in (gallery, person):
        assert f"!{public.code}" in listing
        assert f"!{unlisted.code}" not in listing
    page = client.get(f"/t/{unlisted.code}").content.decode()
    assert '<meta name="robots" content="noindex">' in page
    assert "Unlisted" in page
    # Owners see their own unlisted tapes on their page.
    assert f"!{unlisted.code}" in owner_client.get(f"/u/{user.username}").content.decode()


def test_a_failed_record_can_be_sent_again_from_the_tape_page(
    client: Client, owner_client: Client, user: Any
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    AtprotoAccountFactory.create(user=user)
    TapeFederationFactory.create(tape=tape, state="failed", code="pds_unreachable")
    page = owner_client.get(f"/t/{tape.code}").content.decode()
    assert 'id="owner-federation-retry"' in page
    assert 'data-code="pds_unreachable"' in page
    assert 'id="owner-federation-retry"' not in client.get(f"/t/{tape.code}").content.decode()
