"""Why posting a tape to Bluesky did not go as asked, as the site says it: stable codes and the
words users see for them.

Pure: no Django. A failure is a ``federation.errors.FederationFailure`` (the XRPC client's errors
already are one), so a Bluesky post is recorded, shown and retried the way a tape's record is.
``fallback`` marks what rules the video out but not the post: the tape is then posted with a link
card (``app.bsky.embed.external``) instead, and the code says why on the tape and on /me.
"""

from __future__ import annotations

from federation.errors import FederationFailure
from federation.errors import public_message as federation_message

# The video leg: Bluesky's video service (app.bsky.video.*). Each of these leaves the post a link
# card, except ``video_processing`` (still being processed: polled again later).
VIDEO_CODES = {
    "video_daily_limit": "Bluesky's daily video limit for your account is used up, so the tape "
    "was posted as a link card. Post it again tomorrow to post the video.",
    "video_upload_refused": "Bluesky's video service does not take videos from your account "
    "right now (on Bluesky, a confirmed email address is needed), so the tape was posted as a "
    "link card.",
    "video_too_large": "The video is larger than Bluesky takes, so the tape was posted as a "
    "link card.",
    "video_too_long": "The video is longer than Bluesky takes, so the tape was posted as a "
    "link card.",
    "video_rejected": "Bluesky's video service refused the video, so the tape was posted as a "
    "link card.",
    "video_processing_failed": "Bluesky's video service could not process the video, so the "
    "tape was posted as a link card.",
    # A failed job's failureCode pds_upload_failure / pds_upload_unsupported_blob_size: the
    # service processed the video but the user's own PDS did not store it.
    "video_pds_upload_failed": "Bluesky's video service could not store the video on your PDS, "
    "so the tape was posted as a link card.",
    "video_too_large_for_pds": "The video is larger than your PDS takes, so the tape was posted "
    "as a link card.",
    # The copy for Bluesky (the tape upscaled) could not be made from the tape's files.
    "video_copy_failed": "The video for Bluesky could not be made from the tape, so the tape "
    "was posted as a link card.",
    "video_service_unreachable": "Bluesky's video service could not be reached, so the tape was "
    "posted as a link card.",
    "video_processing": "Bluesky is still processing the video; it will be checked again.",
}

# The post itself.
POST_CODES = {
    "bluesky_not_linked": "Link an AT Protocol account on /me to post tapes to Bluesky.",
    "bluesky_tape_not_ready": "The tape can be posted once its video is ready.",
    "bluesky_tape_not_public": "Only public tapes are posted to Bluesky; make it public first.",
    "bluesky_already_posted": "This tape is already on Bluesky.",
    "bluesky_post_invalid": "The post did not match Bluesky's lexicon.",
    "bluesky_post_delete_failed": "The post could not be deleted from Bluesky; it will be tried "
    "again.",
    # The job kept stopping without an outcome (killed, timed out) however often it was requeued.
    "bluesky_stuck": "Posting kept stopping without finishing; retry it.",
}


def public_message(code: str) -> str:
    """The fixed text users see for ``code`` (never the service's or PDS's own words)."""
    for table in (VIDEO_CODES, POST_CODES):
        if code in table:
            return table[code]
    return federation_message(code)


class BlueskyFailure(FederationFailure):
    """``code`` is one of the tables above or federation's; ``fallback``: post a link card
    instead of the video (never set together with ``retryable``)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        reset_at: float | None = None,
        fallback: bool = False,
    ) -> None:
        super().__init__(code, message, retryable=retryable, reset_at=reset_at)
        self.fallback = fallback
