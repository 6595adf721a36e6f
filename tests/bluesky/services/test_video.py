"""The video leg against the reference PDS and the video service's stand-in: a real upload that
ends as a blob the user's PDS holds, each refusal and failure as its code with the link-card
fallback, resuming from a saved job, and the PDS's own refusals."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import requests

from bluesky.errors import VIDEO_CODES, BlueskyFailure
from bluesky.models import BlueskyPost, BlueskyPostState
from bluesky.services.video import bluesky_video_blob, bluesky_video_copy
from bluesky.video import FAILURE_CODES
from federation.services import atproto_account_link
from federation.services.sessions import PdsSession, account_session
from federation.xrpc import XrpcError
from tapes import services as tape_services
from tapes.models import Tape, TapeStatus
from tapes.storage import storage_for
from tests.accounts.factories import UserFactory
from tests.support import synth
from tests.support.pds import Account, Pds
from tests.support.video_service import VideoServiceStandIn
from tests.tapes.factories import TapeUploadFactory, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ready(tmp_path: Path) -> Callable[[], Tape]:
    """``ready()``: a user's tape encoded for real (its ZIP, MP4 in storage): 20x12 drawing."""

    def make() -> Tape:
        user = UserFactory.create()
        path = tmp_path / f"t{time.monotonic_ns()}.zip"
        synth.make_tape(path, frames=6, width=20, height=12, scale=1, seed=5)
        tape = post(TapeUploadFactory.create(content=path.read_bytes(), user=user), user=user)
        done = tape_services.tape_encode(tape_id=tape.pk)
        assert done is not None and done.status == TapeStatus.READY
        return done

    return make


Poster = tuple[BlueskyPost, Tape, PdsSession, Account]


def _post_of(tape: Tape, server: Pds) -> Poster:
    """The tape's owner linked to a fresh account on ``server``, the tape's pending post, and a
    session of that account."""
    assert tape.user is not None
    remote = server.create_account()
    account = atproto_account_link(
        user=tape.user, identifier=remote.did, app_password=remote.app_password
    )
    bluesky_post = BlueskyPost.objects.create(
        tape=tape, state=BlueskyPostState.PENDING, did=account.did, pds_url=account.pds_url
    )
    return bluesky_post, tape, account_session(account_id=account.pk), remote


@pytest.fixture
def poster(
    ready: Callable[[], Tape], atproto_settings: Pds, video_service: VideoServiceStandIn
) -> Callable[[], Poster]:
    """``poster()``: a ready tape of a user linked to a fresh account on the reference PDS, its
    pending post, and a session of that account."""

    def make() -> Poster:
        return _post_of(ready(), atproto_settings)

    return make


def _fails(poster: Poster, code: str) -> BlueskyFailure:
    bluesky_post, tape, session, _ = poster
    with pytest.raises(BlueskyFailure) as caught:
        bluesky_video_blob(post=bluesky_post, tape=tape, session=session)
    assert caught.value.code == code
    assert code in VIDEO_CODES
    return caught.value


def test_the_video_goes_through_the_service_to_the_users_pds(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn, tmp_path: Path
) -> None:
    bluesky_post, tape, session, remote = poster()
    blob = bluesky_video_blob(post=bluesky_post, tape=tape, session=session)

    assert blob["$type"] == "blob" and blob["mimeType"] == "video/mp4"
    saved = BlueskyPost.objects.get(pk=bluesky_post.pk)
    assert saved.video_blob == blob and saved.video_job_id and saved.progress == 100
    # A post can embed it (the PDS checks the record against app.bsky.embed.video and ties the
    # blob to it; until then getBlob does not serve an untethered blob) ...
    pds = remote.pds
    login = pds.login(remote.did, remote.password)
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": "a tape",
        "createdAt": "2026-12-05T12:00:00.000Z",
        "embed": {
            "$type": "app.bsky.embed.video",
            "video": blob,
            "aspectRatio": {"width": 1800, "height": 1080},
        },
    }
    written = requests.post(
        pds.xrpc_url("com.atproto.repo.createRecord"),
        json={"repo": remote.did, "collection": "app.bsky.feed.post", "record": record},
        headers={"Authorization": f"Bearer {login['accessJwt']}"},
        timeout=30,
    )
    assert written.status_code == 200, written.text
    # ... and the PDS holds exactly the copy the service was sent (the stand-in does not
    # transcode) ...
    (job,) = video_service.jobs.values()
    held = pds.get_blob(session.did, blob["ref"]["$link"])
    assert held.status_code == 200
    assert held.content == job.data and blob["size"] == len(job.data)
    # ... the drawing upscaled 90x with nearest neighbour: 20x12 -> 1800x1080, the largest even
    # factor whose long side fits 1920 and short side 1080.
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(job.data)
    with av.open(str(copy)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1800, 1080)
        frame = next(container.decode(stream)).to_ndarray(format="rgb24")
    # Each drawing pixel is a flat 90x90 block (within the codec's noise).
    for row, col in ((1, 1), (5, 13), (11, 19)):
        block = frame[row * 90 : (row + 1) * 90, col * 90 : (col + 1) * 90].astype(int)
        assert np.abs(block - block.mean(axis=(0, 1))).max() <= 6
    assert video_service.calls == [
        "app.bsky.video.getUploadLimits",
        "app.bsky.video.uploadVideo",
        "app.bsky.video.getJobStatus",
    ]


def test_a_saved_blob_is_returned_without_calling_anything(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    bluesky_post, tape, session, _ = poster()
    blob = {"$type": "blob", "ref": {"$link": "bafkreia"}, "mimeType": "video/mp4", "size": 3}
    bluesky_post.video_blob = blob
    assert bluesky_video_blob(post=bluesky_post, tape=tape, session=session) == blob
    assert video_service.calls == []


def test_a_job_still_processing_is_retried_and_then_resumed_without_uploading_again(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn, settings: Any
) -> None:
    bluesky_post, tape, session, _ = poster()
    video_service.slow_polls = 6
    settings.BLUESKY_VIDEO_POLL_SECONDS = 0.05  # room for a couple of polls
    failure = _fails((bluesky_post, tape, session, _), "video_processing")
    assert failure.retryable and not failure.fallback
    saved = BlueskyPost.objects.get(pk=bluesky_post.pk)
    assert saved.video_job_id and saved.video_blob is None and 0 < saved.progress < 100

    settings.BLUESKY_VIDEO_POLL_SECONDS = 5.0
    blob = bluesky_video_blob(post=saved, tape=tape, session=session)
    assert BlueskyPost.objects.get(pk=bluesky_post.pk).video_blob == blob
    assert video_service.calls.count("app.bsky.video.uploadVideo") == 1
    assert list(video_service.jobs) == [saved.video_job_id]


def test_a_job_saved_before_a_crash_is_polled_not_uploaded_again(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    bluesky_post, tape, session, _ = poster()
    video_service.slow_polls = 10**6  # never gets past encoding while the first run is alive
    _fails((bluesky_post, tape, session, _), "video_processing")
    video_service.slow_polls = 0
    fresh = BlueskyPost.objects.get(pk=bluesky_post.pk)  # a new job run reads the row
    bluesky_video_blob(post=fresh, tape=tape, session=session)
    assert video_service.calls.count("app.bsky.video.uploadVideo") == 1
    assert video_service.calls.count("app.bsky.video.getUploadLimits") == 1


def test_the_daily_limit_used_up_falls_back_to_a_link_card(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    video_service.exhaust_daily_limit()
    failure = _fails(poster(), "video_daily_limit")
    assert failure.fallback and not failure.retryable
    assert "app.bsky.video.uploadVideo" not in video_service.calls


def test_fewer_bytes_left_today_than_the_copy_is_the_daily_limit(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    video_service.limits = {"canUpload": True, "remainingDailyVideos": 3, "remainingDailyBytes": 10}
    assert _fails(poster(), "video_daily_limit").fallback
    assert "app.bsky.video.uploadVideo" not in video_service.calls


def test_an_account_the_service_refuses_falls_back(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    video_service.refuse_account()
    assert _fails(poster(), "video_upload_refused").fallback


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ((400, {"jobStatus": {"jobId": "", "did": "", "state": "", "error": "unconfirmed_email"}}),
         "video_upload_refused"),
        ((413, {"error": "PayloadTooLarge", "message": "too big"}), "video_too_large"),
        ((400, {"error": "InvalidRequest", "message": "not a video"}), "video_rejected"),
        ((503, {"error": "Unavailable", "message": "down"}), "video_service_unreachable"),
    ],
)  # fmt: skip
def test_each_refused_upload_falls_back(
    poster: Callable[[], Poster],
    video_service: VideoServiceStandIn,
    answer: tuple[int, dict[str, Any]],
    code: str,
) -> None:
    video_service.upload_answer = answer
    one = poster()
    assert _fails(one, code).fallback
    assert BlueskyPost.objects.get(pk=one[0].pk).video_job_id == ""


@pytest.mark.parametrize("failure_code", sorted(FAILURE_CODES))
def test_each_job_failure_code_falls_back_with_its_code(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn, failure_code: str
) -> None:
    video_service.failure_code = failure_code
    one = poster()
    failure = _fails(one, FAILURE_CODES[failure_code])
    assert failure.fallback and failure_code in failure.message
    # A failed job is forgotten: asking again uploads afresh.
    assert BlueskyPost.objects.get(pk=one[0].pk).video_job_id == ""


def test_an_unknown_failure_code_is_a_processing_failure(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    video_service.failure_code = "cosmic_rays"
    assert _fails(poster(), "video_processing_failed").fallback


def test_a_pds_that_will_not_store_the_video_is_its_own_failure(
    poster: Callable[[], Poster],
    video_service: VideoServiceStandIn,
    pds_factory: Callable[..., Pds],
    ready: Callable[[], Tape],
) -> None:
    # A PDS with a blob limit below the copy's size: the stand-in's uploadBlob is refused there.
    small = pds_factory(blob_limit="1000")
    assert _fails(_post_of(ready(), small), "video_too_large_for_pds").fallback


def test_an_unreachable_service_falls_back(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    one = poster()
    video_service.close()
    failure = _fails(one, "video_service_unreachable")
    assert failure.fallback and not failure.retryable


def test_a_service_gone_while_polling_falls_back_and_keeps_the_job(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn, settings: Any
) -> None:
    one = poster()
    video_service.slow_polls = 10**6
    settings.BLUESKY_VIDEO_POLL_SECONDS = 0.05
    _fails(one, "video_processing")
    video_service.close()
    saved = BlueskyPost.objects.get(pk=one[0].pk)
    assert _fails((saved, one[1], one[2], one[3]), "video_service_unreachable").fallback
    assert BlueskyPost.objects.get(pk=one[0].pk).video_job_id == saved.video_job_id


def test_a_tape_longer_than_bluesky_takes_is_not_uploaded(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn, settings: Any
) -> None:
    settings.BLUESKY_VIDEO_MAX_SECONDS = 0.01  # the tape: six frames, ~100 ms
    assert _fails(poster(), "video_too_long").fallback
    assert video_service.calls == []


def test_a_copy_larger_than_bluesky_takes_is_not_uploaded(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn, settings: Any
) -> None:
    settings.BLUESKY_VIDEO_MAX_BYTES = 200
    assert _fails(poster(), "video_too_large").fallback
    assert "app.bsky.video.uploadVideo" not in video_service.calls


def test_a_token_the_service_does_not_accept_is_rejected(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn, settings: Any
) -> None:
    # A token for another service's DID: the PDS signs it, but the service wants its own aud.
    settings.BLUESKY_VIDEO_SERVICE_DID = "did:web:elsewhere.test"
    assert _fails(poster(), "video_rejected").fallback
    assert video_service.refused == [("app.bsky.video.getUploadLimits", "BadJwtAudience")]


def test_a_pds_refusing_service_auth_is_an_xrpc_error(
    poster: Callable[[], Poster], video_service: VideoServiceStandIn
) -> None:
    bluesky_post, tape, session, _ = poster()
    broken = PdsSession(
        account_id=session.account_id,
        did=session.did,
        pds_url=session.pds_url,
        access_jwt=session.access_jwt[:-4] + "AAAA",
        refresh_jwt=session.refresh_jwt,
    )
    with pytest.raises(XrpcError) as caught:
        bluesky_video_blob(post=bluesky_post, tape=tape, session=broken)
    assert caught.value.code == "pds_auth_failed"
    assert video_service.calls == []


def test_the_copy_is_made_from_the_zip_and_leaves_the_tape_alone(
    ready: Callable[[], Tape], tmp_path: Path, settings: Any
) -> None:
    tape = ready()
    before = Tape.objects.filter(pk=tape.pk).values().get()
    settings.BLUESKY_VIDEO_MAX_LONG_SIDE, settings.BLUESKY_VIDEO_MAX_SHORT_SIDE = 640, 360
    path = tmp_path / "copy.mp4"
    assert bluesky_video_copy(tape=tape, path=path) == 30  # 20x12 -> 600x360
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (600, 360)
        assert stream.frames == 6
    assert Tape.objects.filter(pk=tape.pk).values().get() == before


def test_a_zip_storage_cannot_give_is_retried_not_a_link_card(
    ready: Callable[[], Tape], tmp_path: Path
) -> None:
    tape = ready()
    storage_for(tape.bucket).delete(tape.zip_key)
    with pytest.raises(BlueskyFailure) as caught:
        bluesky_video_copy(tape=tape, path=tmp_path / "copy.mp4")
    assert caught.value.code == "storage_unavailable"
    assert caught.value.retryable and not caught.value.fallback
