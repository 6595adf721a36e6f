from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

TITLE_MAX = 100
DESCRIPTION_MAX = 1000
ALT_TEXT_MAX = 1000
PIECE_URL_MAX = 500
SOURCE_MAX = 500
SEED_MAX = 200


class TapeStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class TapeVisibility(models.TextChoices):
    # In the gallery, on the owner's page, in feeds and lists, and federated to the owner's PDS.
    PUBLIC = "public", "Public"
    # Reachable by its code and link only: kept out of every listing, and off the PDS (a repo
    # there is public and listable, so a record would list it).
    UNLISTED = "unlisted", "Unlisted"


class TapeQuerySet(models.QuerySet["Tape"]):
    def visible(self) -> TapeQuerySet:
        """Not nuked: what opens by its code."""
        return self.filter(nuked=False)

    def listed(self) -> TapeQuerySet:
        """Visible and public: what listings (gallery, user pages, feeds, API lists) show."""
        return self.filter(nuked=False, visibility=TapeVisibility.PUBLIC)


class Tape(models.Model):
    """A posted tape.

    The first block keeps the original ``tapes`` collection's field names (code, slug, user, when,
    bucket, nuked) so a tape reads the same as there; the rest is what a pipeline needs to be
    observable and retryable. The original's ``at`` ({rkey, uri, cid} of the AT Protocol record)
    is the federation app's (``TapeFederation``); the API still shows it as ``at``.
    """

    code = models.CharField(max_length=16, unique=True)
    slug = models.CharField(max_length=64, db_index=True)
    # Deleting a user deletes their tapes (tapes_delete_for_user also removes the files): a
    # guest tape may share a slug with one of them, so they cannot become guests' tapes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tapes",
    )
    when = models.DateTimeField(db_index=True)
    bucket = models.CharField(max_length=63)
    nuked = models.BooleanField(default=False)
    nuked_at = models.DateTimeField(null=True, blank=True)
    # Whether the owner deleted it (a signed-in owner, or the guest holding its claim token): they
    # may undo that for TAPES_OWNER_UNDO_SECONDS; never a moderator's nuke.
    nuked_by_owner = models.BooleanField(default=False)
    # When tapes_purge deleted the stored files of this nuked tape; the row stays for the record.
    files_purged_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=TapeStatus.choices, default=TapeStatus.UPLOADED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    # What went wrong in the site's own words (exception text, paths): for logs and the admin,
    # never shown publicly.
    failure_detail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    status_changed_at = models.DateTimeField()

    # The owner's words about the tape (all optional): shown on its page, in share tags and in
    # its AT Protocol record. ``revision`` counts edits, so federation knows a record is behind.
    title = models.CharField(max_length=TITLE_MAX, blank=True)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    alt_text = models.TextField(max_length=ALT_TEXT_MAX, blank=True)
    visibility = models.CharField(
        max_length=16, choices=TapeVisibility.choices, default=TapeVisibility.PUBLIC
    )
    revision = models.PositiveIntegerField(default=0)
    edited_at = models.DateTimeField(null=True, blank=True)

    # What the client said when posting; facts from the archive below win over it.
    metadata = models.JSONField(default=dict, blank=True)
    piece = models.CharField(max_length=32)
    frames = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Each frame's length in whole milliseconds, as encoded (the MP4's timestamps add them up):
    # the player steps frame by frame with them.
    frame_ms = models.JSONField(default=list, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    scale = models.PositiveSmallIntegerField(null=True, blank=True)
    # Where the archive's metadata.json contradicted its frames (the frames won).
    discrepancies = models.JSONField(default=list, blank=True)

    # Blank from posting until the encode job has copied the ZIP out of its upload slot
    # (tape_zip_take): nothing of the upload is served before that.
    zip_key = models.CharField(max_length=255, blank=True)
    zip_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    mp4_key = models.CharField(max_length=255, blank=True)
    mp4_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    thumbnail_key = models.CharField(max_length=255, blank=True)
    thumbnail_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    preview_key = models.CharField(max_length=255, blank=True)
    preview_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    gif_key = models.CharField(max_length=255, blank=True)
    gif_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    # Whose posting quota the tape counts against (tapes.services.quotas): "user:<id>" for a
    # signed-in poster, "guest:<keyed hash of the address>" for a guest (the address itself is
    # not kept with the tape), "" when posted outside HTTP. Claiming does not change it.
    poster = models.CharField(max_length=64, blank=True)

    # Provenance: where the tape was recorded, when posted from a registered site's page (the
    # tapes library). ``site`` and ``origin`` come from the request's Origin header, never from
    # the body; the rest is what the page said. A removed site leaves its origin behind.
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="tapes"
    )
    origin = models.CharField(max_length=200, blank=True)
    piece_url = models.URLField(
        max_length=PIECE_URL_MAX, blank=True, validators=[URLValidator(schemes=["http", "https"])]
    )
    source = models.CharField(max_length=SOURCE_MAX, blank=True)
    seed = models.CharField(max_length=SEED_MAX, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TapeQuerySet.as_manager()

    class Meta:
        ordering = ["-when", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "user"], name="tape_slug_user_unique"),
            # NULLs are distinct in a unique index, so guests need their own partial constraint.
            models.UniqueConstraint(
                fields=["slug"], condition=Q(user__isnull=True), name="tape_slug_guest_unique"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="tape_progress_max_100"),
        ]
        indexes = [
            models.Index(fields=["status", "status_changed_at"], name="tape_status_idx"),
            # The admin's "nuked" filter and the purge: nuked tapes are few, so partial indexes
            # keep both fast without weighing on the many visible ones.
            models.Index(fields=["-when"], condition=Q(nuked=True), name="tape_nuked_when_idx"),
            models.Index(
                fields=["nuked_at"],
                condition=Q(nuked=True, files_purged_at__isnull=True),
                name="tape_purge_idx",
            ),
            # Admin search by slug prefix (LIKE 'x%' needs the pattern operator class).
            models.Index(
                fields=["slug"], opclasses=["varchar_pattern_ops"], name="tape_slug_like_idx"
            ),
            # The sitemap's version (how many listed ready tapes, and their newest change) on
            # every crawl, and the sitemap's pages in id order: an index-only scan of the
            # listed ones instead of the table.
            models.Index(
                fields=["updated_at", "id"],
                condition=Q(nuked=False, visibility="public", status="ready"),
                name="tape_listed_ready_idx",
            ),
            # The posting quota counts one poster's tapes of the last day on every post.
            models.Index(
                fields=["poster", "created_at"], condition=~Q(poster=""), name="tape_poster_idx"
            ),
            # And a site's quota its tapes of the last day.
            models.Index(
                fields=["site", "created_at"],
                condition=Q(site__isnull=False),
                name="tape_site_idx",
            ),
        ]
        permissions = [
            ("nuke_tape", "Can nuke and un-nuke tapes"),
            ("post_without_quota", "Can post tapes without a daily quota"),
        ]

    def __str__(self) -> str:
        return f"!{self.code} {self.slug}"


class TapeUpload(models.Model):
    """A slot handed to a client for one ZIP upload, before the tape exists.

    It reserves the slug (and so the storage key) in the database, so two guests posting the same
    piece in the same millisecond can never overwrite each other's ZIP; and it is how posting
    knows which key a slug was issued for.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tape_uploads",
    )
    slug = models.CharField(max_length=64)
    bucket = models.CharField(max_length=63)
    key = models.CharField(max_length=255)
    declared_bytes = models.PositiveBigIntegerField()
    max_bytes = models.PositiveBigIntegerField()
    # SHA-256 of the upload token handed to the client that started the slot: posting needs the
    # token, so a slot cannot be taken by anyone else (guests included). The token is never stored.
    token_hash = models.CharField(max_length=64, blank=True)
    # Who asked for the slot (a signed-in user's id, or a guest's address), for the open-slot cap.
    client = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    tape = models.OneToOneField(
        Tape, null=True, blank=True, on_delete=models.SET_NULL, related_name="upload"
    )
    # The registered site whose page started the slot: its open slots count toward its quota.
    site = models.ForeignKey(
        "sites.Site",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tape_uploads",
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["site", "created_at"],
                condition=Q(site__isnull=False, tape__isnull=True),
                name="upload_site_open_idx",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["bucket", "key"], name="upload_bucket_key_unique"),
            models.UniqueConstraint(fields=["slug", "user"], name="upload_slug_user_unique"),
            models.UniqueConstraint(
                fields=["slug"], condition=Q(user__isnull=True), name="upload_slug_guest_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bucket}/{self.key}"


class GuestClaim(models.Model):
    """The claim on a guest's tape: the browser that posted it holds the token, we keep only its
    SHA-256. Claiming makes the tape the claimer's; a claimed row stays as the record of it."""

    tape = models.OneToOneField(Tape, on_delete=models.CASCADE, related_name="guest_claim")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guest_claims",
    )

    def __str__(self) -> str:
        return f"claim on tape {self.tape_id}" + (" (claimed)" if self.claimed_at else "")


class RelocationState(models.TextChoices):
    PENDING = "pending", "Pending"
    MOVED = "moved", "Moved"
    FAILED = "failed", "Failed"


class TapeRelocation(models.Model):
    """The move of a claimed guest tape's files to its owner's bucket, done by a job
    (``tapes.services.relocate``). The tape row always names files that exist; this row says how
    the move is going, keeps what went wrong for staff, and lists the originals, which are
    deleted only once links handed out before the move have expired."""

    tape = models.OneToOneField(Tape, on_delete=models.CASCADE, related_name="relocation")
    state = models.CharField(
        max_length=16, choices=RelocationState.choices, default=RelocationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    moved_at = models.DateTimeField(null=True, blank=True)
    # Where the files were before the move, until they are deleted.
    old_bucket = models.CharField(max_length=63, blank=True)
    old_keys = models.JSONField(default=list, blank=True)
    originals_deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["state"],
                condition=~Q(state="moved") | Q(originals_deleted_at__isnull=True),
                name="relocation_open_idx",
            )
        ]

    def __str__(self) -> str:
        return f"relocation of tape {self.tape_id} ({self.state})"
