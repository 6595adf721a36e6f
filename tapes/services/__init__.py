"""Writes: every change to a tape goes through here, by concern.

- ``uploads``: upload slots (start, local receive, find, sweep)
- ``posting``: a slot becomes a tape with a short code; a user's tapes deleted with them
- ``moderation``: deleting (nuke) and restoring: moderators, owners (with an undo) and guests
- ``editing``: an owner's title, description, alt text and visibility
- ``encoding``: the queue hand-off and the encode job's work; ``reencode``: encoding again
- ``claims``: guests' claim tokens, and claiming their tapes
- ``reconcile``: recovery of tapes that stopped moving, and the reconcilers apps register
- ``relocate``: a claimed guest tape's files move to its owner's bucket (a queued job)
- ``quotas``: how much one poster may post in a day
- ``purge``: deleting nuked tapes' files
- ``buckets``: the buckets' set-up and CORS (Tapesite's origin and the registered sites')
- ``status``: the single status update every concern uses

Who may do what is ``tapes.policy``'s; what other apps hear of it, ``tapes.events``.
"""

from tapes.services.buckets import bucket_cors_origins, buckets_cors_enqueue, buckets_setup
from tapes.services.claims import (
    MAX_TOKENS_PER_CLAIM,
    ClaimOutcome,
    claim_token_issue,
    claim_token_reissue,
    tapes_claim,
)
from tapes.services.editing import tape_edit
from tapes.services.encoding import (
    RetryLater,
    tape_encode,
    tape_enqueue_encode,
    tape_video_copy,
    tape_workdirs_clean,
)
from tapes.services.moderation import (
    tape_delete_as_guest,
    tape_nuke,
    tape_restore,
    tape_restore_as_guest,
    tape_unnuke,
    undo_deadline,
    undo_window_words,
)
from tapes.services.posting import (
    TapePosted,
    tape_post,
    tapes_delete_for_user,
)
from tapes.services.purge import PurgeReport, tapes_purge
from tapes.services.reconcile import ReconcileReport, reconciler_register, tapes_reconcile
from tapes.services.reencode import tape_reencode
from tapes.services.relocate import (
    Relocated,
    tape_relocate,
    tape_relocation_originals_delete,
    tape_relocation_request,
    tape_relocation_retry,
    tapes_relocation_pending,
)
from tapes.services.uploads import (
    UploadTicket,
    tape_upload_find,
    tape_upload_local_policy,
    tape_upload_start,
    tape_upload_store_local,
    tape_upload_take,
    tape_uploads_sweep,
    tape_zip_take,
)

__all__ = [
    "MAX_TOKENS_PER_CLAIM",
    "ClaimOutcome",
    "PurgeReport",
    "ReconcileReport",
    "Relocated",
    "RetryLater",
    "TapePosted",
    "UploadTicket",
    "bucket_cors_origins",
    "buckets_cors_enqueue",
    "buckets_setup",
    "claim_token_issue",
    "claim_token_reissue",
    "reconciler_register",
    "tape_delete_as_guest",
    "tape_edit",
    "tape_encode",
    "tape_enqueue_encode",
    "tape_nuke",
    "tape_post",
    "tape_reencode",
    "tape_relocate",
    "tape_relocation_originals_delete",
    "tape_relocation_request",
    "tape_relocation_retry",
    "tape_restore",
    "tape_restore_as_guest",
    "tape_unnuke",
    "tape_upload_find",
    "tape_upload_local_policy",
    "tape_upload_start",
    "tape_upload_store_local",
    "tape_upload_take",
    "tape_uploads_sweep",
    "tape_video_copy",
    "tape_workdirs_clean",
    "tape_zip_take",
    "tapes_claim",
    "tapes_delete_for_user",
    "tapes_purge",
    "tapes_reconcile",
    "tapes_relocation_pending",
    "undo_deadline",
    "undo_window_words",
]
