from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEntry
from audit.services import target_type_of


def audit_entries_for(*, target: models.Model) -> QuerySet[AuditEntry]:
    """The history of one object, newest first."""
    return AuditEntry.objects.filter(
        target_type=target_type_of(target), target_id=str(target.pk)
    ).select_related("actor")
