"""The tapes app's kind of job on the project's queueing seam (``tapesite.queueing``)."""

from __future__ import annotations

from django.conf import settings
from rq.job import Retry

from tapesite.queueing import JobKind


def _encode_retry() -> Retry | None:
    # The job raises on transient failures so RQ retries it with back-off; the tape's own
    # attempt counter decides when to stop for good.
    attempts = int(settings.TAPES_MAX_ATTEMPTS)
    if attempts <= 1:
        return None
    return Retry(max=attempts - 1, interval=settings.TAPES_RETRY_INTERVALS)


ENCODE = JobKind(name="encode", queue="encode", func="tapes.jobs.encode_tape", retry=_encode_retry)
# A claimed guest tape's files moving to its owner's bucket. On the tapes' own queue; the job
# raises on a storage failure so RQ retries it with the same back-off, and the tape's
# TapeRelocation counts the attempts (the same TAPES_MAX_ATTEMPTS).
RELOCATE = JobKind(
    name="relocate", queue="encode", func="tapes.jobs.relocate_tape", retry=_encode_retry
)
# The buckets' CORS rule, applied again after the registered sites change (one job for all
# buckets, object id 0). A change while it runs queues one more run, so the last change wins.
BUCKETS_CORS = JobKind(
    name="buckets-cors",
    queue="default",
    func="tapes.jobs.apply_buckets_cors",
    retry=_encode_retry,
    again_while_running=True,
)
