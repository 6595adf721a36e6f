"""The Bluesky posts API (bluesky/apis.py): a tape's post asked for, read, retried and deleted
through HTTP with the job run in between against the reference PDS; the /me choice; refusals
with stable codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bluesky.models import BlueskyPost, BlueskyPostState
from bluesky.records import COLLECTION
from bluesky.services import bluesky_post_run
from tapes.models import Tape, TapeVisibility
from tests.bluesky.factories import BlueskyPostFactory
from tests.support.pds import Pds
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def test_post_read_and_delete_a_tapes_post(
    api: Any, user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    api.force_login(user)
    url = f"/api/tapes/{tape.code}/bluesky"
    assert api.get(url).json()["state"] == "none"

    asked = api.post(url)
    assert asked.status_code == 202, asked.content
    assert asked.json()["state"] == "pending"
    # Asking twice while it is under way posts once.
    assert api.post(url).status_code == 202
    bluesky_post_run(tape_id=tape.pk)

    body = api.get(url).json()
    post = BlueskyPost.objects.get(tape=tape)
    assert body["state"] == "done"
    assert body["embed"] == "external" and body["fallback"] is True
    assert body["code"] == "video_service_unreachable"
    assert body["message"].endswith("so the tape was posted as a link card.")
    assert body["uri"] == post.uri
    assert body["url"] == f"https://bsky.app/profile/{remote.did}/post/{post.rkey}"
    assert len(pds.list_records(remote.did, COLLECTION)) == 1

    deleting = api.delete(url)
    assert deleting.status_code == 202 and deleting.json()["state"] == "deleting"
    bluesky_post_run(tape_id=tape.pk)
    assert api.get(url).json()["state"] == "none"
    assert pds.list_records(remote.did, COLLECTION) == []


def test_refusals_have_stable_codes(api: Any, user: Any, other_user: Any, link: Any) -> None:
    api.force_login(user)
    mine = ReadyTapeFactory.create(user=user)
    theirs = ReadyTapeFactory.create(user=other_user)

    unlinked = api.post(f"/api/tapes/{mine.code}/bluesky")
    assert (unlinked.status_code, unlinked.json()["error"]["code"]) == (409, "bluesky_not_linked")
    link(user)
    Tape.objects.filter(pk=mine.pk).update(visibility=TapeVisibility.UNLISTED)
    unlisted = api.post(f"/api/tapes/{mine.code}/bluesky")
    assert (unlisted.status_code, unlisted.json()["error"]["code"]) == (
        409,
        "bluesky_tape_not_public",
    )
    assert api.post(f"/api/tapes/{theirs.code}/bluesky").status_code == 404
    assert api.delete(f"/api/tapes/{theirs.code}/bluesky").status_code == 404
    missing = api.delete(f"/api/tapes/{mine.code}/bluesky")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "bluesky_not_posted")

    api.logout()
    anonymous = api.post(f"/api/tapes/{mine.code}/bluesky")
    assert anonymous.status_code in (401, 403)


def test_a_written_post_is_not_posted_twice_but_a_failed_one_is_retried(
    api: Any, user: Any, link: Any
) -> None:
    link(user)
    api.force_login(user)
    done = BlueskyPostFactory.create(tape__user=user, embed="video")
    again = api.post(f"/api/tapes/{done.tape.code}/bluesky")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "bluesky_already_posted")

    failed = BlueskyPostFactory.create(tape__user=user, failed=True, code="pds_rejected")
    shown = api.get(f"/api/tapes/{failed.tape.code}/bluesky").json()
    assert (shown["state"], shown["code"]) == ("failed", "pds_rejected")
    retried = api.post(f"/api/tapes/{failed.tape.code}/bluesky")
    assert retried.status_code == 202
    assert (retried.json()["state"], retried.json()["code"]) == ("pending", None)
    row = BlueskyPost.objects.get(pk=failed.pk)
    assert (row.state, row.attempts) == (BlueskyPostState.PENDING, 0)


def test_a_link_card_may_be_posted_again_for_the_video(api: Any, user: Any, link: Any) -> None:
    link(user)
    api.force_login(user)
    card = BlueskyPostFactory.create(
        tape__user=user, embed="external", code="video_daily_limit", message="limit"
    )
    again = api.post(f"/api/tapes/{card.tape.code}/bluesky")
    assert again.status_code == 202
    row = BlueskyPost.objects.get(pk=card.pk)
    assert row.stale_rkeys == [card.rkey] and row.rkey == "" and row.wanted


def test_me_bluesky_sets_the_choice_and_lists_recent_posts(api: Any, user: Any) -> None:
    api.force_login(user)
    assert api.get("/api/me/bluesky").json() == {"post_new_tapes": False, "posts": []}
    post = BlueskyPostFactory.create(tape__user=user, failed=True, code="pds_rejected")
    changed = api.put("/api/me/bluesky", {"post_new_tapes": True}, format="json")
    assert changed.status_code == 200
    body = changed.json()
    assert body["post_new_tapes"] is True
    [shown] = body["posts"]
    assert (shown["tape"], shown["state"], shown["code"]) == (
        post.tape.code,
        "failed",
        "pds_rejected",
    )
    assert api.get("/api/me/bluesky").json()["post_new_tapes"] is True
    bad = api.put("/api/me/bluesky", {"post_new_tapes": "perhaps"}, format="json")
    assert bad.status_code == 400


def test_only_the_owner_may_post_through_the_service(user: Any, other_user: Any) -> None:
    from bluesky.services import bluesky_post_request
    from tapesite.errors import TapesiteError

    tape = ReadyTapeFactory.create(user=other_user)
    with pytest.raises(TapesiteError) as refused:
        bluesky_post_request(tape=tape, actor=user)
    assert (refused.value.code, refused.value.status) == ("not_found", 404)


def test_a_post_not_written_yet_is_stopped_at_once(
    api: Any, user: Any, link: Any, ready_tape: Callable[..., Tape]
) -> None:
    link(user)
    tape = ready_tape(user)
    api.force_login(user)
    assert api.post(f"/api/tapes/{tape.code}/bluesky").json()["state"] == "pending"
    stopped = api.delete(f"/api/tapes/{tape.code}/bluesky")
    assert (stopped.status_code, stopped.json()["state"]) == (202, "none")
    assert not BlueskyPost.objects.filter(tape=tape).exists()
    assert bluesky_post_run(tape_id=tape.pk).state == "skipped"
