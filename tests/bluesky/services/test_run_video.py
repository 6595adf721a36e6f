"""The posting job with Bluesky's video service (the stand-in, tests/support/video_service.py)
and the reference PDS: the video embed read back and valid, each way the service fails leaving
a link card that says why, and a video still processing polled again by the retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bluesky.models import BlueskyPost, BlueskyPostState
from bluesky.records import COLLECTION
from bluesky.services import bluesky_post_request, bluesky_post_run
from tapes.models import Tape
from tests.support.lexicon import reference_bsky
from tests.support.pds import Pds
from tests.support.video_service import VideoServiceStandIn

pytestmark = pytest.mark.django_db


def post_of(tape: Tape) -> BlueskyPost:
    return BlueskyPost.objects.get(tape=tape)


def test_a_post_embeds_the_video_the_service_processed(
    user: Any,
    link: Any,
    encoded_tape: Callable[..., Tape],
    pds: Pds,
    video_service: VideoServiceStandIn,
) -> None:
    _account, remote = link(user)
    tape = encoded_tape(user)
    Tape.objects.filter(pk=tape.pk).update(alt_text="Bubbles drift across the dark.")
    bluesky_post_request(tape=tape, actor=user)
    outcome = bluesky_post_run(tape_id=tape.pk)
    assert (outcome.state, outcome.code) == (BlueskyPostState.DONE, "")
    post = post_of(tape)
    assert (post.embed, post.code, post.progress) == ("video", "", 100)

    got = pds.get_record(remote.did, COLLECTION, post.rkey)
    assert got.status_code == 200
    value = got.json()["value"]
    embed = value["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert post.video_blob is not None
    assert embed["video"]["ref"]["$link"] == post.video_blob["ref"]["$link"]
    assert embed["aspectRatio"] == {"width": tape.width, "height": tape.height}
    assert embed["alt"] == "Bubbles drift across the dark."
    # The test tape is under a second and silent: shown as a GIF is.
    assert embed["presentation"] == "gif"
    [result] = reference_bsky(COLLECTION, [value])
    assert result["valid"] is True, result
    # The video is a blob of the user's own repo, which Bluesky's app view serves.
    assert pds.get_blob(remote.did, embed["video"]["ref"]["$link"]).status_code == 200


@pytest.mark.parametrize(
    ("fail", "code"),
    [
        ("exhaust_daily_limit", "video_daily_limit"),
        ("refuse_account", "video_upload_refused"),
        ("close", "video_service_unreachable"),
    ],
)
def test_when_the_video_cannot_be_used_the_post_is_a_link_card_that_says_why(
    user: Any,
    link: Any,
    encoded_tape: Callable[..., Tape],
    pds: Pds,
    video_service: VideoServiceStandIn,
    fail: str,
    code: str,
) -> None:
    _account, remote = link(user)
    tape = encoded_tape(user)
    getattr(video_service, fail)()
    bluesky_post_request(tape=tape, actor=user)
    outcome = bluesky_post_run(tape_id=tape.pk)
    assert (outcome.state, outcome.code) == (BlueskyPostState.DONE, code)
    post = post_of(tape)
    assert (post.embed, post.code) == ("external", code)
    [record] = pds.list_records(remote.did, COLLECTION)
    assert record["value"]["embed"]["$type"] == "app.bsky.embed.external"
    assert record["value"]["embed"]["external"]["thumb"]["mimeType"] == "image/webp"


def test_a_video_still_processing_is_polled_again_by_the_retry(
    user: Any,
    link: Any,
    encoded_tape: Callable[..., Tape],
    pds: Pds,
    video_service: VideoServiceStandIn,
    settings: Any,
) -> None:
    _account, remote = link(user)
    tape = encoded_tape(user)
    video_service.slow_polls = 1000
    settings.BLUESKY_VIDEO_POLL_SECONDS = 0.2
    bluesky_post_request(tape=tape, actor=user)
    outcome = bluesky_post_run(tape_id=tape.pk)
    assert (outcome.state, outcome.code) == (BlueskyPostState.PENDING, "video_processing")
    assert outcome.retry_in is not None
    job_id = post_of(tape).video_job_id
    assert job_id and pds.list_records(remote.did, COLLECTION) == []

    video_service.slow_polls = 0
    assert bluesky_post_run(tape_id=tape.pk).state == BlueskyPostState.DONE
    assert len(video_service.jobs) == 1, "the retry polled the same job, no second upload"
    post = post_of(tape)
    assert (post.embed, post.video_job_id) == ("video", job_id)
    assert len(pds.list_records(remote.did, COLLECTION)) == 1
