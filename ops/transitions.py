"""The log line every tape status change writes (logger ``tapes.transitions``, JSON lines)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

logger = logging.getLogger("tapes.transitions")


def current_job_id() -> str | None:
    """The RQ job this code runs in, if any."""
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


def log_transition(
    *,
    tape_id: int,
    code: str,
    from_status: str,
    to_status: str,
    since: datetime | None,
    at: datetime | None = None,
    failure_code: str = "",
    job_id: str | None = None,
) -> None:
    """``duration_s`` is how long the tape stayed in ``from_status``; ``job_id`` is the RQ job
    that made the change (``current_job_id()`` taken at the change: the line may be written
    after the job's transaction commits)."""
    now = at or timezone.now()
    duration = round((now - since).total_seconds(), 3) if since is not None else None
    fields = {
        "event": "tape_status",
        "tape_id": tape_id,
        "code": code,
        "from": from_status,
        "to": to_status,
        "duration_s": duration,
        "job_id": job_id,
    }
    if failure_code:
        fields["failure_code"] = failure_code
    logger.info("tape !%s %s -> %s", code, from_status, to_status, extra=fields)
