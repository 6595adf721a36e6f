from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from sites.origins import MAX_LENGTH, OriginInvalid, normalise_origin


def validate_origin(value: str) -> None:
    try:
        normalised = normalise_origin(value)
    except OriginInvalid as exc:
        raise ValidationError(str(exc), code="origin_invalid") from exc
    if normalised != value:
        raise ValidationError(
            f"Write the origin as {normalised} (lower-case, no path, no default port).",
            code="origin_not_normalised",
        )


class Site(models.Model):
    """Another website whose pages may post tapes to Tapesite from the browser (the tapes library
    calls the API cross-origin). Only registered, active origins get CORS; the limits are the
    site's own, counted on top of each client's. A limit of 0 means the settings default
    (TAPES_SITE_TAPES_PER_DAY, TAPES_SITE_BYTES_PER_DAY, TAPES_SITE_POSTS_PER_MINUTE)."""

    # Unique, so the lookup made on every cross-origin request is one index probe.
    origin = models.CharField(
        max_length=MAX_LENGTH,
        unique=True,
        validators=[validate_origin],
        help_text="scheme://host[:port], as the browser sends it, e.g. https://pieces.example",
    )
    name = models.CharField(max_length=100, help_text="Shown on tapes posted from it.")
    # Suspended sites keep their row (tapes name it) but every request from them is refused.
    active = models.BooleanField(default=True)
    # Guests posting from this site post as this account: their tapes land in its bucket and on
    # its page, with no claim token. Null: guests post as guests (and may claim later).
    guest_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_sites",
        help_text="The account that owns guest tapes posted from this site, if any.",
    )
    tapes_per_day = models.PositiveIntegerField(
        default=0, help_text="Tapes posted from this site in a rolling day; 0: the default."
    )
    bytes_per_day = models.PositiveBigIntegerField(
        default=0, help_text="Bytes posted from this site in a rolling day; 0: the default."
    )
    posts_per_minute = models.PositiveIntegerField(
        default=0, help_text="Upload starts and posts per minute from this site; 0: the default."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "origin"]

    def __str__(self) -> str:
        return f"{self.name} ({self.origin})"

    def limit_tapes_per_day(self) -> int:
        return self.tapes_per_day or int(settings.TAPES_SITE_TAPES_PER_DAY)

    def limit_bytes_per_day(self) -> int:
        return self.bytes_per_day or int(settings.TAPES_SITE_BYTES_PER_DAY)

    def limit_posts_per_minute(self) -> int:
        return self.posts_per_minute or int(settings.TAPES_SITE_POSTS_PER_MINUTE)
