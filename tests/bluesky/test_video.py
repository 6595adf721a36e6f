"""bluesky.video, pure: the copy's upscale factor, and every answer of the video service read
as the site's code (unit tests; the service itself is the stand-in's, in
tests/bluesky/services/test_video.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bluesky.errors import VIDEO_CODES, public_message
from bluesky.video import (
    FAILURE_CODES,
    JobStatus,
    UploadLimits,
    VideoBounds,
    VideoService,
    still_processing,
    upscale_factor,
)
from tapesite.egress import EgressError, EgressResponse

DAILY, REFUSED = "video_daily_limit", "video_upload_refused"
BLOB = {"$type": "blob", "ref": {"$link": "bafkreiabc"}, "mimeType": "video/mp4", "size": 9}


@pytest.mark.parametrize(
    ("size", "factor"),
    [
        ((20, 12), 90),  # the short side binds: 12 x 90 = 1080
        ((12, 20), 90),  # portrait: the same bounds, turned
        ((64, 48), 22),  # 1080 // 48 = 22
        ((100, 100), 10),  # square: the short side's 1080 binds
        ((128, 72), 14),  # 1920 // 128 = 15, odd: 14
        ((960, 540), 2),
        ((1000, 600), 1),  # even 2x would not fit: as it is
        ((1920, 1080), 1),
    ],
)
def test_the_factor_is_the_largest_even_one_within_1920_by_1080(
    size: tuple[int, int], factor: int
) -> None:
    width, height = size
    assert upscale_factor(width, height) == factor
    if factor > 1:
        assert max(width, height) * factor <= 1920 and min(width, height) * factor <= 1080
        assert factor % 2 == 0


def test_the_factor_follows_other_bounds_and_refuses_no_size() -> None:
    assert upscale_factor(20, 12, VideoBounds(max_long_side=640, max_short_side=360)) == 30
    with pytest.raises(ValueError):
        upscale_factor(0, 12)


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"canUpload": True, "remainingDailyVideos": 3, "remainingDailyBytes": 10**9}, None),
        ({"canUpload": True}, None),  # nothing said about the quota
        ({"canUpload": False, "remainingDailyVideos": 0, "remainingDailyBytes": 0}, DAILY),
        ({"canUpload": True, "remainingDailyVideos": 0}, DAILY),
        ({"canUpload": False, "message": "You have reached your daily upload limit"}, DAILY),
        ({"canUpload": False, "remainingDailyVideos": 25, "error": "unconfirmed_email"}, REFUSED),
        ({"canUpload": False}, "video_upload_refused"),
        ({"remainingDailyVideos": 3}, "video_upload_refused"),  # canUpload missing: not allowed
    ],
)  # fmt: skip
def test_upload_limits_as_codes(answer: dict[str, Any], code: str | None) -> None:
    refusal = UploadLimits.parse(answer).refusal()
    if code is None:
        assert refusal is None
        return
    assert refusal is not None and refusal.code == code
    assert refusal.fallback and not refusal.retryable and code in VIDEO_CODES


def test_a_copy_larger_than_the_bytes_left_today_is_the_daily_limit() -> None:
    limits = UploadLimits.parse({"canUpload": True, "remainingDailyBytes": 1000})
    assert limits.refusal(1000) is None
    refusal = limits.refusal(1001)
    assert refusal is not None and refusal.code == "video_daily_limit"


def test_counts_that_are_not_integers_are_ignored() -> None:
    limits = UploadLimits.parse({"canUpload": True, "remainingDailyVideos": False})
    assert limits.remaining_videos is None and limits.refusal() is None


def test_a_job_status_reads_in_the_lexicons_shape_and_bare() -> None:
    inner = {"jobId": "j1", "did": "did:plc:a", "state": "JOB_STATE_ENCODING", "progress": 50}
    wrapped, bare = JobStatus.parse({"jobStatus": inner}), JobStatus.parse(inner)
    assert wrapped == bare
    assert (bare.job_id, bare.state, bare.progress, bare.done, bare.failed) == (
        "j1",
        "JOB_STATE_ENCODING",
        50,
        False,
        False,
    )
    assert bare.percent == 30


def test_already_exists_carries_the_blob_of_the_same_video() -> None:
    status = JobStatus.parse(
        {
            "did": "did:plc:a",
            "error": "already_exists",
            "jobId": "j0",
            "message": "Video already processed",
            "state": "JOB_STATE_COMPLETED",
            "blob": BLOB,
        }
    )
    assert status.done and status.blob == BLOB and status.percent == 100


@pytest.mark.parametrize(
    ("state", "progress", "percent"),
    [
        ("JOB_STATE_CREATED", 0, 0),
        ("JOB_STATE_ENCODING", 100, 60),
        ("JOB_STATE_SCANNING", 50, 70),
        ("JOB_STATE_UPLOADING", 0, 80),
        ("JOB_STATE_UPLOADED", 0, 99),
        ("JOB_STATE_SOMETHING_NEW", 40, 0),  # any other state: in progress
    ],
)
def test_progress_over_the_whole_processing(state: str, progress: int, percent: int) -> None:
    status = JobStatus.parse({"jobId": "j", "state": state, "progress": progress})
    assert status.percent == percent and not status.failed


@pytest.mark.parametrize("failure_code", sorted(FAILURE_CODES))
def test_each_failure_code_is_a_code_users_can_read(failure_code: str) -> None:
    status = JobStatus.parse(
        {"jobStatus": {"jobId": "j", "did": "d", "state": "JOB_STATE_FAILED",
                       "failureCode": failure_code, "error": "x", "message": "Failed"}}
    )  # fmt: skip
    assert status.failed
    refusal = status.refusal()
    assert refusal.code == FAILURE_CODES[failure_code] and refusal.fallback
    assert refusal.code in VIDEO_CODES and public_message(refusal.code) == VIDEO_CODES[refusal.code]
    assert failure_code in refusal.message  # the service's words stay with the detail


def test_the_failure_codes_are_the_lexicons_known_values() -> None:
    # app.bsky.video.defs#jobStatus failureCode knownValues (npm @atproto/api).
    assert set(FAILURE_CODES) == {
        "validation_failure",
        "encoding_failure",
        "pds_upload_failure",
        "pds_upload_unsupported_blob_size",
        "generic_failure",
    }


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"failureCode": "validation_failure", "message": "Video is too long"}, "video_too_long"),
        ({"failureCode": "something_new"}, "video_processing_failed"),
        ({}, "video_processing_failed"),
    ],
)
def test_other_failures(fields: dict[str, str], code: str) -> None:
    status = JobStatus.parse({"jobId": "j", "state": "JOB_STATE_FAILED", **fields})
    assert status.refusal().code == code


def test_a_blob_wins_over_a_failed_state() -> None:
    status = JobStatus.parse({"jobId": "j", "state": "JOB_STATE_FAILED", "blob": BLOB})
    assert status.done and not status.failed


def test_still_processing_is_retried_not_a_link_card() -> None:
    failure = still_processing(JobStatus.parse({"jobId": "j", "state": "JOB_STATE_SCANNING"}), 61)
    assert failure.code == "video_processing" and failure.retryable and not failure.fallback


# --- the client, over a stand-in egress (what the service answers is the stand-in's part) -------


class _Egress:
    """Answers each request with the next of ``answers`` (a status and body, or an exception)."""

    def __init__(self, *answers: tuple[int, Any] | EgressError) -> None:
        self.answers = list(answers)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> EgressResponse:
        self.sent.append({"method": method, "url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, EgressError):
            raise answer
        status, body = answer
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return EgressResponse(status, "", {}, content, url)


def _client(*answers: tuple[int, Any] | EgressError) -> tuple[VideoService, _Egress]:
    egress = _Egress(*answers)
    return VideoService("https://video.example/", egress=egress), egress  # type: ignore[arg-type]


def test_the_upload_sends_the_video_with_the_token_did_and_name() -> None:
    service, egress = _client(
        (200, {"jobId": "j9", "did": "did:plc:a", "state": "JOB_STATE_CREATED"})
    )
    status = service.upload_video(b"mp4", did="did:plc:a", name="t.mp4", token="tok")
    assert status.job_id == "j9"
    (sent,) = egress.sent
    assert sent["method"] == "POST"
    assert sent["url"] == "https://video.example/xrpc/app.bsky.video.uploadVideo"
    assert sent["params"] == {"did": "did:plc:a", "name": "t.mp4"} and sent["data"] == b"mp4"
    assert sent["headers"] == {"Authorization": "Bearer tok", "Content-Type": "video/mp4"}


def test_an_upload_the_service_already_has_is_its_job() -> None:
    service, _ = _client(
        (409, {"jobId": "j0", "did": "d", "state": "JOB_STATE_COMPLETED", "error": "already_exists",
               "blob": BLOB})
    )  # fmt: skip
    status = service.upload_video(b"mp4", did="d", name="t.mp4", token="tok")
    assert status.job_id == "j0" and status.done


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ((200, {"jobStatus": {"did": "", "error": "unconfirmed_email", "jobId": "", "state": ""}}),
         "video_upload_refused"),
        ((400, {"error": "unconfirmed_email"}), "video_upload_refused"),
        ((401, {"error": "BadJwtSignature"}), "video_rejected"),
        ((413, b"too big"), "video_too_large"),
        ((429, {"error": "RateLimitExceeded"}), "video_daily_limit"),
        ((502, b"<html>bad gateway</html>"), "video_service_unreachable"),
        ((200, b"not json"), "video_service_unreachable"),
        (EgressError("egress_connect_failed", "refused"), "video_service_unreachable"),
        (EgressError("egress_address_refused", "10.0.0.1"), "video_service_unreachable"),
    ],
)  # fmt: skip
def test_upload_refusals(answer: tuple[int, Any] | EgressError, code: str) -> None:
    service, _ = _client(answer)
    with pytest.raises(Exception) as caught:
        service.upload_video(b"mp4", did="d", name="t.mp4", token="tok")
    assert getattr(caught.value, "code", None) == code
    assert caught.value.fallback  # type: ignore[attr-defined]


def test_a_job_the_service_does_not_know_failed() -> None:
    service, egress = _client((404, {"error": "NotFound"}))
    with pytest.raises(Exception) as caught:
        service.get_job_status("gone")
    assert getattr(caught.value, "code", None) == "video_processing_failed"
    assert egress.sent[0]["params"] == {"jobId": "gone"} and egress.sent[0]["method"] == "GET"


def test_a_busy_service_while_polling_is_asked_again_later() -> None:
    service, _ = _client((429, {"error": "RateLimitExceeded"}))
    with pytest.raises(Exception) as caught:
        service.get_job_status("j")
    assert getattr(caught.value, "code", None) == "video_processing"
    assert caught.value.retryable and not caught.value.fallback  # type: ignore[attr-defined]


def test_limits_are_asked_with_the_token() -> None:
    service, egress = _client((200, {"canUpload": True}))
    assert service.get_upload_limits(token="t").can_upload
    assert egress.sent[0]["headers"] == {"Authorization": "Bearer t"}


def test_video_imports_no_django() -> None:
    probe = (
        "import sys, bluesky.video; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'django', 'rest_framework', 'accounts', 'audit', 'web'}))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
