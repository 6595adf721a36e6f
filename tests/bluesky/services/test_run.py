"""The posting job's work (bluesky/services/run.py) against the real reference PDS, read back
with plain XRPC calls: the link card, a crash between write and save, deletes on nuke and
unlisting, the PDS's refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bluesky.models import BlueskyPost, BlueskyPostState, BlueskyPreferences
from bluesky.records import COLLECTION
from bluesky.services import (
    bluesky_post_request,
    bluesky_post_run,
    bluesky_post_withdraw,
    bluesky_preferences_set,
)
from federation import xrpc
from tapes.models import Tape, TapeVisibility
from tapes.services import tape_edit, tape_nuke, tape_unnuke
from tests.support.lexicon import reference_bsky
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def post_of(tape: Tape) -> BlueskyPost:
    return BlueskyPost.objects.get(tape=tape)


def posted(user: Any, tape: Tape) -> Any:
    bluesky_post_request(tape=tape, actor=user)
    return bluesky_post_run(tape_id=tape.pk)


def test_a_post_without_the_video_service_is_a_link_card_with_the_thumbnail(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    outcome = posted(user, tape)
    assert (outcome.state, outcome.code) == (BlueskyPostState.DONE, "video_service_unreachable")
    post = post_of(tape)
    assert (post.state, post.embed, post.code) == ("done", "external", "video_service_unreachable")
    assert post.uri == f"at://{remote.did}/{COLLECTION}/{post.rkey}"

    got = pds.get_record(remote.did, COLLECTION, post.rkey)
    assert got.status_code == 200
    value = got.json()["value"]
    assert got.json()["cid"] == post.cid
    assert value["text"] == f"!{tape.code}"
    assert value["facets"][0]["features"][0]["uri"].endswith(f"/t/{tape.code}")
    card = value["embed"]["external"]
    assert card["uri"].endswith(f"/t/{tape.code}")
    thumb = card["thumb"]
    assert (thumb["mimeType"], thumb["size"]) == ("image/webp", tape.thumbnail_bytes)
    assert pds.get_blob(remote.did, thumb["ref"]["$link"]).status_code == 200
    [result] = reference_bsky(COLLECTION, [value])
    assert result["valid"] is True, result


def test_a_crash_between_create_record_and_saving_leaves_one_post(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds, monkeypatch: Any
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    real_create = xrpc.Xrpc.create_record

    def create_then_die(self: xrpc.Xrpc, *args: Any, **kwargs: Any) -> dict[str, Any]:
        real_create(self, *args, **kwargs)
        raise SystemExit("worker killed after createRecord")

    monkeypatch.setattr(xrpc.Xrpc, "create_record", create_then_die)
    bluesky_post_request(tape=tape, actor=user)
    with pytest.raises(SystemExit):
        bluesky_post_run(tape_id=tape.pk)
    post = post_of(tape)
    assert post.rkey, "the rkey is saved before createRecord"
    assert (post.state, post.uri) == (BlueskyPostState.PENDING, "")
    assert len(pds.list_records(remote.did, COLLECTION)) == 1

    monkeypatch.setattr(xrpc.Xrpc, "create_record", real_create)
    assert bluesky_post_run(tape_id=tape.pk).state == BlueskyPostState.DONE
    records = pds.list_records(remote.did, COLLECTION)
    assert len(records) == 1
    post = post_of(tape)
    assert records[0]["uri"] == post.uri
    # The reason it is a card was saved before the write, so the resumed run still says it.
    assert (post.embed, post.code) == ("external", "video_service_unreachable")


def test_a_nuke_deletes_the_post_and_an_unnuke_does_not_post_again(
    user: Any, moderator: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    posted(user, tape)
    rkey = post_of(tape).rkey
    tape_nuke(tape=tape, actor=moderator, reason="spam")
    post = post_of(tape)
    assert (post.wanted, post.state, post.stale_rkeys) == (False, "pending", [rkey])
    assert bluesky_post_run(tape_id=tape.pk).state == "deleted"
    assert pds.get_record(remote.did, COLLECTION, rkey).status_code == 400
    assert not BlueskyPost.objects.filter(tape=tape).exists()

    tape_unnuke(tape=Tape.objects.get(pk=tape.pk), actor=moderator, reason="fine")
    assert not BlueskyPost.objects.filter(tape=tape).exists()
    assert pds.list_records(remote.did, COLLECTION) == []


def test_going_unlisted_deletes_the_post(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    posted(user, tape)
    tape_edit(tape=tape, actor=user, visibility=TapeVisibility.UNLISTED)
    assert bluesky_post_run(tape_id=tape.pk).state == "deleted"
    assert pds.list_records(remote.did, COLLECTION) == []


def test_the_owner_takes_the_post_back(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    posted(user, tape)
    bluesky_post_withdraw(tape=tape, actor=user)
    assert bluesky_post_run(tape_id=tape.pk).state == "deleted"
    assert pds.list_records(remote.did, COLLECTION) == []
    # And may post it again: a new post, under a new rkey.
    assert posted(user, tape).state == BlueskyPostState.DONE
    assert len(pds.list_records(remote.did, COLLECTION)) == 1


def test_a_nuke_while_the_post_is_being_written_leaves_no_post(
    user: Any,
    moderator: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    monkeypatch: Any,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    real_create = xrpc.Xrpc.create_record

    def create_then_nuke(self: xrpc.Xrpc, *args: Any, **kwargs: Any) -> dict[str, Any]:
        created = real_create(self, *args, **kwargs)
        tape_nuke(tape=Tape.objects.get(pk=tape.pk), actor=moderator, reason="spam")
        return created

    monkeypatch.setattr(xrpc.Xrpc, "create_record", create_then_nuke)
    outcome = posted(user, tape)
    monkeypatch.setattr(xrpc.Xrpc, "create_record", real_create)
    assert (outcome.state, outcome.code) == (BlueskyPostState.PENDING, "superseded")
    assert len(pds.list_records(remote.did, COLLECTION)) == 1
    assert bluesky_post_run(tape_id=tape.pk).state == "deleted"
    assert pds.list_records(remote.did, COLLECTION) == []


def test_an_unlinked_owner_gets_a_failure_they_see(
    user: Any, link: Any, ready_tape: Callable[..., Tape]
) -> None:
    account, _remote = link(user)
    tape = ready_tape(user)
    bluesky_post_request(tape=tape, actor=user)
    account.delete()
    outcome = bluesky_post_run(tape_id=tape.pk)
    assert (outcome.state, outcome.code) == (BlueskyPostState.FAILED, "bluesky_not_linked")


def test_a_pds_that_is_down_is_retried_with_back_off(
    user: Any, link: Any, ready_tape: Callable[..., Tape], settings: Any
) -> None:
    account, _remote = link(user)
    tape = ready_tape(user)
    bluesky_post_request(tape=tape, actor=user)
    type(account).objects.filter(pk=account.pk).update(pds_url="http://127.0.0.1:9")
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [
        *settings.TAPES_EGRESS_ALLOWED_ORIGINS,
        "http://127.0.0.1:9",
    ]
    outcome = bluesky_post_run(tape_id=tape.pk)
    assert (outcome.state, outcome.code) == (BlueskyPostState.PENDING, "pds_unreachable")
    assert outcome.retry_in is not None and outcome.retry_in >= settings.ATPROTO_RETRY_FLOOR_SECONDS
    post = post_of(tape)
    assert post.not_before is not None and post.attempts == 1


def test_post_every_new_tape_posts_a_public_tape_once_it_is_ready(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    from tapes import events

    _account, remote = link(user)
    bluesky_preferences_set(user=user, post_new_tapes=True)
    tape = ready_tape(user)
    events.tape_ready.send(sender=Tape, tape=tape)
    post = post_of(tape)
    assert (post.automatic, post.state) == (True, BlueskyPostState.PENDING)
    assert bluesky_post_run(tape_id=tape.pk).state == BlueskyPostState.DONE

    unlisted = ready_tape(user)
    Tape.objects.filter(pk=unlisted.pk).update(visibility=TapeVisibility.UNLISTED)
    events.tape_ready.send(sender=Tape, tape=Tape.objects.get(pk=unlisted.pk))
    assert not BlueskyPost.objects.filter(tape=unlisted).exists()
    BlueskyPreferences.objects.filter(user=user).update(post_new_tapes=False)
    other = ready_tape(user)
    events.tape_ready.send(sender=Tape, tape=other)
    assert not BlueskyPost.objects.filter(tape=other).exists()
    assert len(pds.list_records(remote.did, COLLECTION)) == 1
