"""Writes of the federation app; public names re-exported here."""

from federation.services.accounts import (
    atproto_account_link,
    atproto_account_unlink,
    atproto_keys_rotate,
)
from federation.services.federate import atproto_records_delete_all, tape_federate
from federation.services.lifecycle import (
    tape_federate_now,
    tape_federation_delete_abandon,
    tape_federation_delete_retry,
    tape_federation_on_edit,
    tape_federation_on_nuke,
    tape_federation_on_unnuke,
    tape_federation_on_visibility,
    tape_federation_retry,
    tape_federation_start,
    tapes_federation_reconcile,
)
from federation.services.sessions import account_session, with_session
from federation.services.site_pds import atproto_account_create, site_pds

__all__ = [
    "account_session",
    "atproto_account_create",
    "atproto_account_link",
    "atproto_account_unlink",
    "atproto_keys_rotate",
    "atproto_records_delete_all",
    "site_pds",
    "tape_federate",
    "tape_federate_now",
    "tape_federation_delete_abandon",
    "tape_federation_delete_retry",
    "tape_federation_on_edit",
    "tape_federation_on_nuke",
    "tape_federation_on_unnuke",
    "tape_federation_on_visibility",
    "tape_federation_retry",
    "tape_federation_start",
    "tapes_federation_reconcile",
    "with_session",
]
