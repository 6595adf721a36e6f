"""Why a federate run did not finish, as the site says it: one type with stable codes.

Pure: no Django. The XRPC client's errors (``federation.xrpc.XrpcError``) are one kind of it; the
federate job turns the rest (storage, the lexicon, a refused app password) into it too, so a
failure is recorded, shown and retried one way.
"""

from __future__ import annotations

# Every code a tape's federation may fail with; users see them on the tape and /me.
CODES = {
    "pds_unreachable": "The PDS could not be reached; it will be tried again.",
    "pds_rate_limited": "The PDS asked to slow down; it will be tried again.",
    "pds_auth_failed": "The PDS refused the app password; link the account again.",
    "pds_rejected": "The PDS refused the record.",
    "pds_blob_too_large": "The PDS refused the video as too large.",
    "storage_unavailable": "The video could not be read from storage; it will be tried again.",
    "record_invalid": "The record did not match its lexicon.",
    "atproto_not_linked": "The owner has no linked AT Protocol account.",
    # A nuked tape's record that could not be deleted after ATPROTO_DELETE_MAX_ATTEMPTS: staff
    # retry the delete, or abandon it, in the admin.
    "record_delete_failed": "The record could not be deleted from the PDS; staff will look at it.",
    "record_delete_abandoned": "Deleting the record was given up; it stays on the PDS.",
    # The job kept stopping without an outcome (killed, timed out) however often it was requeued.
    "federation_stuck": "Federation kept stopping without finishing; retry it.",
}


class FederationFailure(Exception):
    """``code`` is one of ``CODES``; ``retryable`` says whether trying again could help;
    ``reset_at`` (epoch seconds) is when a rate-limited PDS takes calls again."""

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, reset_at: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.reset_at = reset_at
