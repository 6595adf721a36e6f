"""Purge: delete the stored files of tapes nuked long ago. Rows are never deleted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from tapes.files import tape_stored_files
from tapes.models import Tape
from tapes.services.status import tape_log_change
from tapes.storage import storage_for

logger = logging.getLogger(__name__)


@dataclass
class PurgedTape:
    code: str
    nuked_at: str
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bytes: int = 0


@dataclass
class PurgeReport:
    purged: list[PurgedTape] = field(default_factory=list)
    # Tapes whose storage refused a delete: left as they were, tried again on the next run.
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def files(self) -> int:
        return sum(len(tape.removed) for tape in self.purged)

    @property
    def bytes(self) -> int:
        return sum(tape.bytes for tape in self.purged)


def _purge_one(tape_id: int, *, cutoff_reason: str, dry_run: bool) -> PurgedTape | None:
    with transaction.atomic():
        # Locked so an un-nuke cannot slip in between the check and the deletes.
        tape = (
            Tape.objects.select_for_update()
            .filter(pk=tape_id, nuked=True, files_purged_at__isnull=True)
            .first()
        )
        if tape is None:  # restored or purged meanwhile
            return None
        assert tape.nuked_at is not None
        done = PurgedTape(code=tape.code, nuked_at=tape.nuked_at.isoformat())
        storage = storage_for(tape.bucket)
        for file, key in tape_stored_files(tape):
            if not storage.exists(key):
                done.missing.append(key)
                continue
            done.bytes += getattr(tape, file.bytes_field) or 0
            if not dry_run:
                storage.delete(key)
            done.removed.append(key)
        if not dry_run:
            Tape.objects.filter(pk=tape.pk).update(
                files_purged_at=timezone.now(), updated_at=timezone.now()
            )
            audit_record(
                actor=None,
                action=AuditAction.TAPE_PURGE,
                target=tape,
                reason=cutoff_reason,
                details={"removed": done.removed, "missing": done.missing, "bytes": done.bytes},
            )
            tape_log_change(tape=tape, from_state="nuked", to_state="purged", since=tape.nuked_at)
        return done


def tapes_purge(*, older_than: timedelta, dry_run: bool = False) -> PurgeReport:
    """Delete the stored files (``tapes.files``) of every tape nuked more than
    ``older_than`` ago, mark it purged and record it in the audit log. Rows stay. A storage
    error leaves that tape untouched for the next run; the others go on."""
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    cutoff = timezone.now() - older_than
    reason = f"nuked more than {older_than.days} days ago (purge)"
    report = PurgeReport()
    due = Tape.objects.filter(
        nuked=True, files_purged_at__isnull=True, nuked_at__lt=cutoff
    ).order_by("nuked_at")
    for tape_id, code in due.values_list("id", "code").iterator():
        try:
            done = _purge_one(tape_id, cutoff_reason=reason, dry_run=dry_run)
        except Exception as exc:  # storage unreachable or refusing: report, keep going
            logger.warning("could not purge tape !%s: %s", code, exc)
            report.failed[code] = str(exc)[:500]
            continue
        if done is not None:
            report.purged.append(done)
    return report
