"""Bluesky's video service (``app.bsky.video.*``) as the site uses it: the size of the copy it is
sent, a small client for its three calls, and what each of its answers means for the user.

Pure: no Django. Bluesky plays only videos its video service processed: the service takes the MP4
(``uploadVideo``, authorised by a service-auth token the user's PDS signed for
``com.atproto.repo.uploadBlob``), transcodes and checks it, stores the result on the user's PDS
with that token, and reports a blob (``getJobStatus``). Every refusal becomes a
``bluesky.errors.BlueskyFailure`` with a code of ``VIDEO_CODES``; all but ``video_processing``
carry ``fallback`` (post a link card instead). The service's own words stay in ``message`` (logs,
staff); users see the code's fixed text.

The service's answers stray from the published lexicons in known ways (bluesky-social/atproto
issues 3026 and 3097): ``uploadVideo`` answers the job status bare rather than under
``jobStatus``, and a video it already processed comes back as an ``already_exists`` error that
still carries the job (and the blob). Both shapes are read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bluesky.errors import BlueskyFailure
from tapesite.egress import Egress, EgressError, EgressResponse

#: The service-auth ``lxm`` of each leg: the video service asks the user's PDS for nothing but
#: a blob upload, and checks the limits with a token meant for itself.
UPLOAD_LXM: Final = "com.atproto.repo.uploadBlob"
LIMITS_LXM: Final = "app.bsky.video.getUploadLimits"

COMPLETED: Final = "JOB_STATE_COMPLETED"
FAILED: Final = "JOB_STATE_FAILED"

# Where each known state sits on the post's progress bar (the service's ``progress`` is within
# the current state only): from, to.
_STATE_SPAN: Final = {
    "JOB_STATE_CREATED": (0, 0),
    "JOB_STATE_ENCODING": (0, 60),
    "JOB_STATE_ENCODED": (60, 60),
    "JOB_STATE_SCANNING": (60, 80),
    "JOB_STATE_SCANNED": (80, 80),
    "JOB_STATE_UPLOADING": (80, 99),
    "JOB_STATE_UPLOADED": (99, 99),
    COMPLETED: (100, 100),
}

#: A failed job's ``failureCode`` (app.bsky.video.defs#jobStatus's known values) as the site's.
FAILURE_CODES: Final = {
    "validation_failure": "video_rejected",
    "encoding_failure": "video_processing_failed",
    "pds_upload_failure": "video_pds_upload_failed",
    "pds_upload_unsupported_blob_size": "video_too_large_for_pds",
    "generic_failure": "video_processing_failed",
}

# ``error`` names the service answers uploadVideo with.
_UPLOAD_ERRORS: Final = {
    "unconfirmed_email": "video_upload_refused",
    "already_exists": "",  # not a failure: the job (and blob) of the same video
}


@dataclass(frozen=True)
class VideoBounds:
    """What Bluesky takes (its app's limits and the embed lexicon's): the upscaled copy stays
    within them."""

    max_long_side: int = 1920
    max_short_side: int = 1080
    max_bytes: int = 100_000_000
    max_seconds: float = 180.0


def upscale_factor(width: int, height: int, bounds: VideoBounds = VideoBounds()) -> int:
    """The integer factor the copy for Bluesky is upscaled by (nearest neighbour), so pixel art
    stays crisp after Bluesky transcodes it down: the largest even one that keeps the long side
    within ``max_long_side`` and the short side within ``max_short_side``; 1 when even 2x would
    not fit. Even, as the site's own encode (tapes.encoder): each 4:2:0 chroma sample then
    covers one source pixel's colour."""
    if width < 1 or height < 1:
        raise ValueError(f"bad size {width}x{height}")
    long_side, short_side = max(width, height), min(width, height)
    factor = min(bounds.max_long_side // long_side, bounds.max_short_side // short_side)
    factor -= factor % 2
    return max(factor, 1)


def failure(code: str, detail: str, *, fallback: bool = True) -> BlueskyFailure:
    """A video leg failure: ``detail`` (the service's words, ids) is for logs and staff, as an
    XrpcError's message is; users see ``public_message(code)``."""
    return BlueskyFailure(code, detail, fallback=fallback, retryable=not fallback)


# --- getUploadLimits --------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadLimits:
    can_upload: bool
    remaining_videos: int | None = None
    remaining_bytes: int | None = None
    message: str = ""
    error: str = ""

    @classmethod
    def parse(cls, answer: dict[str, Any]) -> UploadLimits:
        def count(name: str) -> int | None:
            value = answer.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(
            can_upload=answer.get("canUpload") is True,
            remaining_videos=count("remainingDailyVideos"),
            remaining_bytes=count("remainingDailyBytes"),
            message=str(answer.get("message") or ""),
            error=str(answer.get("error") or ""),
        )

    @property
    def exhausted(self) -> bool:
        """The day's videos or bytes are used up (the service may still say canUpload)."""
        return self.remaining_videos == 0 or self.remaining_bytes == 0

    def refusal(self, size: int | None = None) -> BlueskyFailure | None:
        """Why a video of ``size`` bytes (None: not known yet) cannot be uploaded today, or
        None. ``canUpload: false`` with the day's quota left is the account being refused
        (on Bluesky: an unconfirmed email address); with it used up, the daily limit."""
        said = f"getUploadLimits: {self.error or '-'} {self.message or ''}".strip()
        if self.exhausted:
            return failure("video_daily_limit", f"{said} (nothing left today)")
        if not self.can_upload:
            if "limit" in f"{self.error} {self.message}".lower():
                return failure("video_daily_limit", said)
            return failure("video_upload_refused", said)
        if size is not None and self.remaining_bytes is not None and size > self.remaining_bytes:
            return failure(
                "video_daily_limit", f"{said}: {size} bytes, {self.remaining_bytes} left today"
            )
        return None


# --- the job -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    did: str = ""
    progress: int = 0
    blob: dict[str, Any] | None = None
    error: str = ""
    failure_code: str = ""
    message: str = ""

    @classmethod
    def parse(cls, answer: dict[str, Any]) -> JobStatus:
        """``answer`` as the lexicon has it (``{"jobStatus": {...}}``) or bare, as the service
        answers uploadVideo."""
        inner = answer.get("jobStatus")
        status = inner if isinstance(inner, dict) else answer
        blob = status.get("blob")
        progress = status.get("progress")
        return cls(
            job_id=str(status.get("jobId") or ""),
            state=str(status.get("state") or ""),
            did=str(status.get("did") or ""),
            progress=progress if isinstance(progress, int) and 0 <= progress <= 100 else 0,
            blob=dict(blob) if isinstance(blob, dict) and blob.get("ref") else None,
            error=str(status.get("error") or ""),
            failure_code=str(status.get("failureCode") or ""),
            message=str(status.get("message") or ""),
        )

    @property
    def done(self) -> bool:
        """The processed video is on the user's PDS: a blob came back (with ``already_exists``
        too, whatever the state says)."""
        return self.blob is not None

    @property
    def failed(self) -> bool:
        return not self.done and self.state == FAILED

    @property
    def percent(self) -> int:
        """Of the whole processing, for the post's progress bar."""
        if self.done:
            return 100
        start, end = _STATE_SPAN.get(self.state, (0, 0))
        return start + (end - start) * self.progress // 100

    def refusal(self) -> BlueskyFailure:
        """Why this failed job's video cannot be used: its ``failureCode`` as the site's code
        (an unknown one, or none, is a processing failure)."""
        said = (
            f"job {self.job_id} failed: {self.failure_code or '-'} {self.error} {self.message}"
        ).strip()
        code = FAILURE_CODES.get(self.failure_code, "video_processing_failed")
        words = f"{self.error} {self.message}".lower()
        if self.failure_code == "validation_failure" and ("long" in words or "duration" in words):
            code = "video_too_long"
        return failure(code, said)


def still_processing(status: JobStatus, waited: float) -> BlueskyFailure:
    return failure(
        "video_processing",
        f"job {status.job_id} still {status.state or 'pending'} after {waited:.0f} s",
        fallback=False,
    )


# --- the client --------------------------------------------------------------------------------


def _answer_failure(response: EgressResponse, method: str) -> BlueskyFailure:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    inner = body.get("jobStatus")
    named = inner if isinstance(inner, dict) else body
    error = str(named.get("error") or "")
    said = f"{method} answered {response.status} {error}: {named.get('message') or ''}".strip()
    if response.status == 413:
        return failure("video_too_large", said)
    if response.status == 429:
        return failure("video_daily_limit", said)
    if response.status >= 500:
        return failure("video_service_unreachable", said)
    if _UPLOAD_ERRORS.get(error):
        return failure(_UPLOAD_ERRORS[error], said)
    return failure("video_rejected", said)


@dataclass(frozen=True)
class VideoService:
    """The video service at ``base_url``, reached through ``egress`` (its address is a setting,
    and the upload is large: the same client as every outside call). ``deadline`` bounds the
    small calls, ``upload_deadline`` the upload."""

    base_url: str
    egress: Egress
    deadline: float | None = None
    upload_deadline: float | None = None

    def _request(
        self,
        method: str,
        *,
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        token: str | None = None,
        deadline: float | None = None,
    ) -> EgressResponse:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if data is not None:
            headers["Content-Type"] = "video/mp4"
        try:
            return self.egress.request(
                "POST" if data is not None else "GET",
                f"{self.base_url.rstrip('/')}/xrpc/{method}",
                params=params,
                data=data,
                headers=headers,
                deadline=deadline if deadline is not None else self.deadline,
            )
        except EgressError as exc:
            raise failure("video_service_unreachable", f"{method}: {exc}") from exc

    @staticmethod
    def _json(response: EgressResponse, method: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise failure("video_service_unreachable", f"{method}: the answer is not JSON")
        return body

    def get_upload_limits(self, *, token: str) -> UploadLimits:
        method = "app.bsky.video.getUploadLimits"
        response = self._request(method, token=token)
        if response.status != 200:
            raise _answer_failure(response, method)
        return UploadLimits.parse(self._json(response, method))

    def upload_video(self, data: bytes, *, did: str, name: str, token: str) -> JobStatus:
        """Hand the MP4 over; ``token`` is the service-auth token for the user's PDS that the
        service stores the processed video with."""
        method = "app.bsky.video.uploadVideo"
        response = self._request(
            method,
            params={"did": did, "name": name},
            data=data,
            token=token,
            deadline=self.upload_deadline,
        )
        if response.status not in (200, 409):
            raise _answer_failure(response, method)
        status = JobStatus.parse(self._json(response, method))
        if not status.job_id:
            raise _answer_failure(response, method)
        return status

    def get_job_status(self, job_id: str) -> JobStatus:
        method = "app.bsky.video.getJobStatus"
        response = self._request(method, params={"jobId": job_id})
        if response.status == 429:  # asked too often: the job goes on, ask again later
            raise failure("video_processing", f"{method} answered 429 for {job_id}", fallback=False)
        if 400 <= response.status < 500:
            raise failure(
                "video_processing_failed", f"{method} answered {response.status} for {job_id}"
            )
        if response.status != 200:
            raise _answer_failure(response, method)
        return JobStatus.parse(self._json(response, method))
