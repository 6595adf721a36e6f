from __future__ import annotations

from django.conf import settings
from django.db import models


class BlueskyPostState(models.TextChoices):
    # Asked for: the job is uploading the video, waiting on the video service, or writing.
    PENDING = "pending", "Posting"
    DONE = "done", "Posted"
    FAILED = "failed", "Failed"


class BlueskyEmbed(models.TextChoices):
    # The video, processed by Bluesky's video service (app.bsky.embed.video).
    VIDEO = "video", "Video"
    # A link card to the tape page with the thumbnail (app.bsky.embed.external): what is posted
    # when the video service refuses the video or cannot be reached.
    EXTERNAL = "external", "Link card"


class BlueskyPost(models.Model):
    """A tape's ``app.bsky.feed.post`` on its owner's PDS, asked for by the owner.

    As with ``federation.TapeFederation``: ``rkey`` is chosen and saved before createRecord, so a
    retry after a crash finds the post it already wrote (exactly once). ``wanted`` goes False when
    the tape is deleted, nuked or unlisted: the job then deletes the post (``stale_rkeys`` until
    the PDS confirms). An un-nuke does not post again: the owner asks again.
    """

    tape = models.OneToOneField("tapes.Tape", on_delete=models.CASCADE, related_name="bluesky_post")
    state = models.CharField(
        max_length=16, choices=BlueskyPostState.choices, default=BlueskyPostState.PENDING
    )
    wanted = models.BooleanField(default=True)
    # What the post embeds (empty until written).
    embed = models.CharField(max_length=16, choices=BlueskyEmbed.choices, blank=True)
    # A failure's stable code and the user's words for it; or, for a post written with a link
    # card instead of the video, why the video was not used (state done, code set).
    code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    did = models.CharField(max_length=2048, blank=True)
    pds_url = models.URLField(max_length=2048, blank=True)
    rkey = models.CharField(max_length=64, blank=True)
    uri = models.CharField(max_length=4096, blank=True)
    cid = models.CharField(max_length=128, blank=True)
    stale_rkeys = models.JSONField(default=list, blank=True)
    # The video service's job for this tape's video, and the blob it returned once processed:
    # a retry polls the same job, or reuses the blob, rather than uploading again.
    video_job_id = models.CharField(max_length=256, blank=True)
    video_blob = models.JSONField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    # Reconcile's requeues of a run that stopped without an outcome, and when it may requeue
    # again (as federation's): past ATPROTO_STUCK_MAX_REQUEUES the post fails (bluesky_stuck).
    requeues = models.PositiveIntegerField(default=0)
    requeue_after = models.DateTimeField(null=True, blank=True)
    # Posted because the owner chose "post every new tape" rather than from the tape page.
    automatic = models.BooleanField(default=False)
    requested_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "updated_at"], name="bluesky_post_state_idx"),
        ]

    def __str__(self) -> str:
        return f"tape {self.tape_id}: {self.state} {self.uri or self.code}".strip()


class BlueskyPreferences(models.Model):
    """What a user chose about Bluesky on /me."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bluesky_preferences"
    )
    # Post each new tape of theirs to Bluesky once it is ready (public tapes only).
    post_new_tapes = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: post new tapes {self.post_new_tapes}"
