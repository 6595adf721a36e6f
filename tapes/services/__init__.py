"""Writes: every change to a tape goes through here, by concern.

- ``uploads``: upload slots (start, local receive, find, sweep)
- ``posting``: a slot becomes a tape with a short code; soft delete
- ``encoding``: the queue hand-off, the encode job's work, operators' re-encode
- ``reconcile``: recovery of tapes that stopped moving
- ``relocate``: a claimed guest tape's files move to its owner's bucket
- ``moderation``: moderators' checks and retries; ``purge``: deleting nuked tapes' files
- ``status``: the single status update every concern uses
"""

from tapes.services.encoding import (
    RetryLater,
    tape_encode,
    tape_enqueue_encode,
    tape_reencode_enqueue,
    tape_reencode_reset,
    tape_retry,
    tape_retry_check,
    tape_workdirs_clean,
)
from tapes.services.moderation import (
    staff_permission_check,
    tape_retry_encode,
    tape_retry_federation,
)
from tapes.services.posting import (
    tape_create,
    tape_nuke,
    tape_nuke_check,
    tape_unnuke,
    tapes_delete_for_user,
)
from tapes.services.purge import PurgeReport, tapes_purge
from tapes.services.reconcile import ReconcileReport, tapes_reconcile
from tapes.services.relocate import tape_relocate, tapes_relocation_pending
from tapes.services.uploads import (
    UploadTicket,
    tape_upload_find,
    tape_upload_start,
    tape_upload_store_local,
    tape_upload_take,
    tape_uploads_sweep,
)

__all__ = [
    "PurgeReport",
    "ReconcileReport",
    "RetryLater",
    "UploadTicket",
    "staff_permission_check",
    "tape_create",
    "tape_encode",
    "tape_enqueue_encode",
    "tape_nuke",
    "tape_nuke_check",
    "tape_reencode_enqueue",
    "tape_reencode_reset",
    "tape_relocate",
    "tape_retry",
    "tape_retry_check",
    "tape_retry_encode",
    "tape_retry_federation",
    "tape_unnuke",
    "tape_upload_find",
    "tape_upload_start",
    "tape_upload_store_local",
    "tape_upload_take",
    "tape_uploads_sweep",
    "tape_workdirs_clean",
    "tapes_delete_for_user",
    "tapes_purge",
    "tapes_reconcile",
    "tapes_relocation_pending",
]
