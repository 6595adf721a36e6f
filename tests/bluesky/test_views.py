"""The Bluesky parts of the pages (bluesky/templatetags, bluesky/views.py): the owner's box on
the tape page and its forms, /me's choice, its failures and the cards' line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bluesky.models import BlueskyPost, BlueskyPreferences
from bluesky.services import bluesky_post_run
from tapes.models import Tape
from tests.bluesky.factories import BlueskyPostFactory
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def test_only_the_owner_sees_the_box_and_it_asks_to_link_first(
    client: Any, user: Any, other_user: Any
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    client.force_login(other_user)
    assert 'id="bluesky"' not in client.get(f"/t/{tape.code}").content.decode()
    client.force_login(user)
    page = client.get(f"/t/{tape.code}").content.decode()
    assert 'id="bluesky"' in page
    assert 'data-code="bluesky_not_linked"' in page
    assert 'id="bluesky-post"' not in page


def test_the_owner_posts_from_the_tape_page_without_scripts(
    client: Any, user: Any, link: Any, ready_tape: Callable[..., Tape]
) -> None:
    link(user)
    tape = ready_tape(user)
    client.force_login(user)
    page = client.get(f"/t/{tape.code}").content.decode()
    assert 'data-state="none"' in page and 'id="bluesky-post"' in page
    answer = client.post(f"/me/tapes/{tape.code}/bluesky", {"next": f"/t/{tape.code}"})
    assert answer.status_code == 302 and answer["Location"] == f"/t/{tape.code}"
    bluesky_post_run(tape_id=tape.pk)
    post = BlueskyPost.objects.get(tape=tape)
    page = client.get(f"/t/{tape.code}").content.decode()
    assert 'data-state="done"' in page
    assert f"https://bsky.app/profile/{post.did}/post/{post.rkey}" in page
    assert "so the tape was posted as a link card." in page

    answer = client.post(f"/me/tapes/{tape.code}/bluesky/delete", {"next": "https://evil.example/"})
    assert answer["Location"] == "/me"
    assert 'data-state="deleting"' in client.get(f"/t/{tape.code}").content.decode()


def test_me_shows_the_choice_the_failures_and_each_cards_state(client: Any, user: Any) -> None:
    failed = BlueskyPostFactory.create(tape__user=user, failed=True, code="pds_rejected")
    done = BlueskyPostFactory.create(tape__user=user)
    client.force_login(user)
    page = client.get("/me").content.decode()
    assert (
        'id="bluesky-post-new-tapes"' in page
        and "checked" not in page.split('id="bluesky-post-new-tapes"')[1].split(">")[0]
    )
    assert f'action="/me/tapes/{failed.tape.code}/bluesky"' in page
    assert f"https://bsky.app/profile/{done.did}/post/{done.rkey}" in page
    assert "not on Bluesky" in page

    assert client.post("/me/bluesky", {"post_new_tapes": "on"}).status_code == 302
    assert BlueskyPreferences.objects.get(user=user).post_new_tapes is True
    client.post("/me/bluesky", {})
    assert BlueskyPreferences.objects.get(user=user).post_new_tapes is False


def test_someone_elses_tape_is_not_found(client: Any, user: Any, other_user: Any) -> None:
    tape = ReadyTapeFactory.create(user=other_user)
    client.force_login(user)
    assert client.post(f"/me/tapes/{tape.code}/bluesky").status_code == 404
    assert client.post(f"/me/tapes/{tape.code}/bluesky/delete").status_code == 404
