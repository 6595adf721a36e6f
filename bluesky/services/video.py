"""The video leg of posting a tape to Bluesky: the tape's video processed by Bluesky's video
service, as the blob an ``app.bsky.embed.video`` names.

The documented flow (docs/bluesky.md, "The video service"): the user's PDS signs a service-auth
token for the video service to read the upload limits (``getUploadLimits``), the site makes the
copy for Bluesky (the tape upscaled, nearest neighbour, so it stays crisp after Bluesky's
transcode), the PDS signs a second token that lets the service store a blob on it
(``com.atproto.repo.uploadBlob``), the copy goes to ``uploadVideo``, and ``getJobStatus`` is asked
until the job is done and names the blob. The job's id is saved as soon as the service gives it,
so a job that stops after that (crash, timeout, still processing) polls the same job next time
instead of uploading again.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from bluesky.errors import BlueskyFailure
from bluesky.models import BlueskyPost
from bluesky.video import (
    LIMITS_LXM,
    UPLOAD_LXM,
    JobStatus,
    VideoBounds,
    VideoService,
    failure,
    still_processing,
    upscale_factor,
)
from federation.services.sessions import PdsSession
from federation.xrpc import service_did
from tapes.models import Tape
from tapes.services import tape_video_copy
from tapesite import egress
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

# The PDS allows service-auth tokens up to an hour ahead; the upload token must outlive a slow
# upload plus the service's processing, after which the service spends it on uploadBlob.
_TOKEN_SECONDS = 30 * 60


def video_service() -> VideoService:
    """The video service the settings name, over the egress client."""
    connect, total = settings.TAPES_PDS_TIMEOUT
    config = replace(egress.config_from_settings(), connect_timeout=float(connect))
    return VideoService(
        str(settings.BLUESKY_VIDEO_SERVICE_URL),
        egress=egress.Egress(config),
        deadline=float(total),
        upload_deadline=float(settings.BLUESKY_VIDEO_UPLOAD_DEADLINE_SECONDS),
    )


def video_bounds() -> VideoBounds:
    return VideoBounds(
        max_long_side=int(settings.BLUESKY_VIDEO_MAX_LONG_SIDE),
        max_short_side=int(settings.BLUESKY_VIDEO_MAX_SHORT_SIDE),
        max_bytes=int(settings.BLUESKY_VIDEO_MAX_BYTES),
        max_seconds=float(settings.BLUESKY_VIDEO_MAX_SECONDS),
    )


def bluesky_video_copy(*, tape: Tape, path: Path, bounds: VideoBounds | None = None) -> int:
    """Write the copy of ``tape`` that Bluesky gets to ``path``: upscaled by
    ``bluesky.video.upscale_factor`` with nearest neighbour, at most ``bounds.max_bytes``.
    Returns the factor. Raises BlueskyFailure: ``video_too_large`` (fallback) when it cannot
    fit, ``video_copy_failed`` (fallback) when the tape's files do not make one,
    ``storage_unavailable`` (retryable) when storage cannot be read."""
    bounds = bounds or video_bounds()
    if tape.width and tape.height:
        factor = upscale_factor(tape.width, tape.height, bounds)
        long_side = max(tape.width, tape.height) * factor
    else:  # not measured yet (an old row): any long side within the short bound fits both
        factor, long_side = 0, bounds.max_short_side
    try:
        result = tape_video_copy(
            tape=tape, path=path, max_long_side=long_side, max_bytes=bounds.max_bytes
        )
    except TapesiteError as exc:
        detail = f"tape {tape.pk}: {exc.code}: {exc.message}"
        if exc.code == "encode_too_large":
            raise failure("video_too_large", detail) from exc
        if exc.retryable:
            raise BlueskyFailure("storage_unavailable", detail, retryable=True) from exc
        raise failure("video_copy_failed", detail) from exc
    return factor or result.factor


def _save(post: BlueskyPost, **fields: Any) -> None:
    # A queryset update, outside any transaction: the job id must be on the row before the
    # next call to the service, so a crash after it polls the same job.
    BlueskyPost.objects.filter(pk=post.pk).update(**fields, updated_at=timezone.now())
    for name, value in fields.items():
        setattr(post, name, value)


def _blob(status: JobStatus) -> dict[str, Any]:
    blob = status.blob or {}
    ref = blob.get("ref")
    link = ref.get("$link") if isinstance(ref, dict) else None
    size = blob.get("size")
    if not isinstance(link, str) or not isinstance(size, int):
        raise failure("video_processing_failed", f"job {status.job_id}: a blob without a ref")
    return {
        "$type": "blob",
        "ref": {"$link": link},
        "mimeType": str(blob.get("mimeType") or "video/mp4"),
        "size": size,
    }


def _poll(post: BlueskyPost, service: VideoService, status: JobStatus | None) -> dict[str, Any]:
    """Ask after the post's job until it is done (the blob, saved), failed (its failure, the
    job id cleared so asking again uploads afresh), or the poll window ends (retryable)."""
    window = float(settings.BLUESKY_VIDEO_POLL_SECONDS)
    interval = max(0.01, float(settings.BLUESKY_VIDEO_POLL_INTERVAL_SECONDS))
    started = time.monotonic()
    while True:
        if status is None:
            try:
                status = service.get_job_status(post.video_job_id)
            except BlueskyFailure as exc:
                if exc.code == "video_processing_failed":  # the service no longer knows it
                    _save(post, video_job_id="")
                raise
        if status.done:
            blob = _blob(status)
            _save(post, video_blob=blob, progress=100)
            return blob
        if status.failed:
            _save(post, video_job_id="")
            raise status.refusal()
        if status.percent != post.progress:
            _save(post, progress=status.percent)
        waited = time.monotonic() - started
        if waited + interval > window:
            raise still_processing(status, waited)
        time.sleep(interval)
        status = None


def bluesky_video_blob(*, post: BlueskyPost, tape: Tape, session: PdsSession) -> dict[str, Any]:
    """The blob ref (``{"$type": "blob", "ref": {"$link": cid}, "mimeType": "video/mp4",
    "size": n}``) of this tape's video processed by Bluesky's video service, for an
    ``app.bsky.embed.video``.

    Resumes: ``post.video_blob`` set: returns it; ``post.video_job_id`` set: polls that job;
    otherwise asks for the upload limits, makes the upscaled copy, uploads it, saves
    ``post.video_job_id`` at once, polls ``getJobStatus`` up to BLUESKY_VIDEO_POLL_SECONDS, and
    saves ``post.video_blob`` (and ``post.progress``).

    Raises ``bluesky.errors.BlueskyFailure``: ``fallback`` with a ``VIDEO_CODES`` code when the
    video cannot be used (limits used up or refused, the job failed, too large or long, the
    service unreachable); ``retryable`` with ``video_processing`` when the job is still running
    after the window; ``retryable`` ``storage_unavailable`` when the tape's files cannot be read.
    ``federation.xrpc.XrpcError`` when the user's PDS fails (getServiceAuth), so the caller's
    ``with_session`` renews an expired session.
    """
    if post.video_blob:
        return dict(post.video_blob)
    service = video_service()
    if post.video_job_id:
        return _poll(post, service, None)
    bounds = video_bounds()
    if tape.duration_ms and tape.duration_ms > bounds.max_seconds * 1000:
        raise failure(
            "video_too_long", f"tape {tape.pk} is {tape.duration_ms} ms, over {bounds.max_seconds}s"
        )
    xrpc = session.xrpc
    limits_token = xrpc.get_service_auth(
        aud=str(settings.BLUESKY_VIDEO_SERVICE_DID),
        lxm=LIMITS_LXM,
        exp=int(time.time()) + _TOKEN_SECONDS,
        token=session.access_jwt,
    )
    limits = service.get_upload_limits(token=limits_token)
    refusal = limits.refusal()
    if refusal is not None:
        raise refusal
    with tempfile.TemporaryDirectory(prefix="tape-bluesky-") as workdir:
        path = Path(workdir) / "bluesky.mp4"
        bluesky_video_copy(tape=tape, path=path, bounds=bounds)
        data = path.read_bytes()
    refusal = limits.refusal(len(data))
    if refusal is not None:
        raise refusal
    upload_token = xrpc.get_service_auth(
        aud=service_did(session.pds_url),
        lxm=UPLOAD_LXM,
        exp=int(time.time()) + _TOKEN_SECONDS,
        token=session.access_jwt,
    )
    # The name is the file's, for the service's logs; the bytes' digest keeps two copies of a
    # tape (after an edit of the encoder) apart.
    name = f"{tape.code}-{hashlib.sha256(data).hexdigest()[:12]}.mp4"
    status = service.upload_video(data, did=session.did, name=name, token=upload_token)
    _save(post, video_job_id=status.job_id, progress=status.percent)
    logger.info("tape %s: video job %s at the video service", tape.pk, status.job_id)
    return _poll(post, service, status)
