from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import User
from audit.models import AuditAction, AuditEntry


def target_type_of(target: models.Model) -> str:
    return target._meta.label_lower


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target: models.Model,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry. Call it inside the transaction of the change it records, so the change
    and its trail commit (or roll back) together."""
    signed_in = actor is not None and actor.is_authenticated
    entry = AuditEntry(
        actor=actor if signed_in else None,
        actor_name=actor.get_username() if signed_in and actor is not None else "",
        action=action,
        target_type=target_type_of(target),
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        reason=reason.strip(),
        details=details or {},
    )
    entry.full_clean()
    entry.save(force_insert=True)
    return entry
