from __future__ import annotations

from django.conf import settings
from django.db import models


class AccountState(models.TextChoices):
    LINKED = "linked", "Linked"
    # The PDS refused the app password (revoked, or the account is gone): the user must relink.
    AUTH_FAILED = "auth_failed", "App password refused"


class AtprotoAccount(models.Model):
    """A user's AT Protocol account, linked with an app password (never the main password).

    ``app_password`` and ``session`` hold Fernet tokens (federation.secrets), never plain text:
    use federation.services.accounts to read or write them.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="atproto_account"
    )
    did = models.CharField(max_length=2048, db_index=True)
    handle = models.CharField(max_length=253)
    pds_url = models.URLField(max_length=2048)
    app_password = models.TextField()
    # {"accessJwt", "refreshJwt"} as encrypted JSON; empty until the first login.
    session = models.TextField(blank=True)
    state = models.CharField(
        max_length=16, choices=AccountState.choices, default=AccountState.LINKED
    )
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # createSession calls the site made (the PDS allows 30 per 5 minutes): should stay tiny.
    logins = models.PositiveIntegerField(default=0)
    refreshes = models.PositiveIntegerField(default=0)
    # Made by atproto_provision on the site's own PDS rather than linked by the user.
    provisioned = models.BooleanField(default=False)
    linked_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.handle} ({self.did})"


class FederationState(models.TextChoices):
    NONE = "none", "Not federated"
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class TapeFederation(models.Model):
    """Where a tape stands with its record on its owner's PDS.

    Kept apart from the tape's encode status: a failed sync never hides a ready video. ``rkey`` is
    chosen and saved before createRecord, so a retry after a crash finds the record it already
    wrote. ``stale_rkeys`` are records of this tape that must go (nuked, or replaced on un-nuke);
    they are deleted before anything else, until the PDS confirms. ``uri`` and ``cid`` are set
    once the PDS holds the record: with ``rkey`` they are the tape's ``at`` in the API.
    """

    tape = models.OneToOneField("tapes.Tape", on_delete=models.CASCADE, related_name="federation")
    state = models.CharField(
        max_length=16, choices=FederationState.choices, default=FederationState.PENDING
    )
    # False once the tape is nuked: the job then only deletes.
    wanted = models.BooleanField(default=True)
    code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    did = models.CharField(max_length=2048, blank=True)
    pds_url = models.URLField(max_length=2048, blank=True)
    rkey = models.CharField(max_length=64, blank=True)
    uri = models.CharField(max_length=4096, blank=True)
    cid = models.CharField(max_length=128, blank=True)
    stale_rkeys = models.JSONField(default=list, blank=True)
    video_cid = models.CharField(max_length=128, blank=True)
    # The tape's ``revision`` (its words: title, description, alt text) the record on the PDS
    # holds; behind the tape's, the job puts the record again under the same rkey.
    revision = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    # When the next try is scheduled (a transient failure's back-off, or a 429's reset).
    not_before = models.DateTimeField(null=True, blank=True)
    # Times reconcile found the job lost or dead and queued it again since a run last finished;
    # the next requeue waits until requeue_after, and past ATPROTO_STUCK_MAX_REQUEUES it fails.
    requeues = models.PositiveIntegerField(default=0)
    requeue_after = models.DateTimeField(null=True, blank=True)
    # Records staff gave up deleting (record_delete_abandoned): they stay on the PDS.
    abandoned_rkeys = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "updated_at"], name="federation_state_idx")]

    def __str__(self) -> str:
        return f"tape {self.tape_id}: {self.state} {self.code}".strip()
