"""Why a federate run did not finish, as the site says it: one type with stable codes.

Pure: no Django. The XRPC client's errors (``federation.xrpc.XrpcError``) are one kind of it; the
federate job turns the rest (storage, the lexicon, a refused app password) into it too, so a
failure is recorded, shown and retried one way.
"""

from __future__ import annotations

from tapesite.egress import MESSAGES as EGRESS_MESSAGES

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
    # Updating a record after an edit: the record changed on the PDS between reading and writing.
    "record_swapped": "The record changed on the PDS meanwhile; it will be tried again.",
    # A nuked tape's record that could not be deleted after ATPROTO_DELETE_MAX_ATTEMPTS: staff
    # retry the delete, or abandon it, in the admin.
    "record_delete_failed": "The record could not be deleted from the PDS; staff will look at it.",
    "record_delete_abandoned": "Deleting the record was given up; it stays on the PDS.",
    # The job kept stopping without an outcome (killed, timed out) however often it was requeued.
    "federation_stuck": "Federation kept stopping without finishing; retry it.",
}


# Codes of linking an account (resolving a handle or DID, signing in), with what users are told.
LINK_CODES = {
    "atproto_identifier_invalid": "That is neither a handle nor a did:plc or did:web.",
    "atproto_handle_not_found": "No account has that handle.",
    "atproto_did_not_found": "That DID's document could not be found.",
    "atproto_no_pds": "That account's DID document names no PDS.",
    "atproto_handle_mismatch": "The handle and the account's DID document do not match.",
    "atproto_resolver_unreachable": "The handle or DID could not be resolved right now; "
    "try again later.",
    "atproto_main_password": "That is the account's main password. Create an app password on "
    "your PDS (on Bluesky: Settings, Privacy and security, App passwords) and use it instead.",
    "app_password_invalid": "An app password is required.",
    # Creating an account on the site's own PDS.
    "atproto_already_linked": "An AT Protocol account is already linked: unlink it first.",
    "atproto_handle_taken": "That handle is taken on this site's PDS; try another.",
    "atproto_handle_invalid": "A handle name is 3 to 18 lowercase letters, digits or inner "
    "hyphens.",
    "atproto_site_pds_unavailable": "This site does not run a PDS of its own: link an account "
    "you have elsewhere.",
    "atproto_site_pds_unreachable": "This site's PDS is not answering right now; try again in "
    "a few minutes.",
    "atproto_site_pds_refused": "This site's PDS refused to create the account; try again later.",
}

GENERIC_MESSAGE = "Talking to the AT Protocol server failed."


def public_message(code: str) -> str:
    """The fixed text users see for ``code``: never the detail (the PDS's own words, addresses,
    storage keys, exception text), which stays in the logs and the admin. A code no table
    knows gets a generic text."""
    for table in (CODES, LINK_CODES, EGRESS_MESSAGES):
        if code in table:
            return table[code]
    return GENERIC_MESSAGE


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
