from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    TAPE_NUKE = "tape_nuke", "Nuke tape"
    TAPE_UNNUKE = "tape_unnuke", "Un-nuke tape"
    TAPE_EDIT = "tape_edit", "Edit tape"
    TAPE_RETRY_ENCODE = "tape_retry_encode", "Retry encode"
    TAPE_RETRY_FEDERATION = "tape_retry_federation", "Retry federation"
    TAPE_ABANDON_RECORD_DELETE = "tape_abandon_record_delete", "Abandon record delete"
    TAPE_PURGE = "tape_purge", "Purge stored files"
    SITE_REGISTER = "site_register", "Register site"
    SITE_CHANGE = "site_change", "Change site"
    SITE_REMOVE = "site_remove", "Remove site"


class AuditEntry(models.Model):
    """Who did what to which object, when and why. Written only by services; the admin shows it
    read-only, and nothing in the site updates or deletes a row."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept beside the foreign key so the entry still says who after the account is deleted;
    # empty for the system (a management command run by an operator's cron).
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["target_type", "target_id", "-created_at"], name="audit_target_idx"
            ),
        ]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        who = self.actor_name or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.target_repr}"
