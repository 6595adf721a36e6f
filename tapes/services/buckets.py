"""The buckets' set-up: created if missing, and CORS for every origin whose pages upload to them
(Tapesite's own, TAPES_STORAGE_CORS_ORIGINS, the registered active sites, and any an operator
names). Run by ``tapes_storage_setup`` and, after any change to the registered sites, by a job:
registering a site in the admin is all it takes for its pages' uploads to reach the buckets. The
reconcile sweep checks them too, so a change whose job could not be queued (Redis down while staff
saved a site) or a rule someone replaced by hand still ends up right."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings

from sites.origins import origin_or_none
from sites.selectors import site_origins_active
from tapes.queueing import BUCKETS_CORS
from tapes.storage import bucket_cors_allowed, bucket_setup
from tapesite import queueing

logger = logging.getLogger(__name__)


def bucket_cors_origins(*, extra: Iterable[str] = ()) -> list[str]:
    """Every origin the buckets let browsers upload from, Tapesite's own first, each once."""
    candidates = [
        str(settings.TAPES_SITE_URL),
        *extra,
        *settings.TAPES_STORAGE_CORS_ORIGINS,
        *site_origins_active(),
    ]
    origins: list[str] = []
    for candidate in candidates:
        origin = origin_or_none(candidate)
        if origin is None:
            logger.warning("not an origin, left out of the buckets' CORS: %r", candidate)
        elif origin not in origins:
            origins.append(origin)
    return origins


def buckets_setup(*, extra_origins: Iterable[str] = ()) -> dict[str, list[str]]:
    """Create each tape bucket if missing and put every allowed origin in its CORS rule (the
    whole rule is replaced: a suspended or removed site's origin leaves it). What was done, per
    bucket, for an operator to read; raises while storage is unreachable (the job retries)."""
    origins = bucket_cors_origins(extra=extra_origins)
    return {
        bucket: bucket_setup(bucket=bucket, cors_origins=origins)
        for bucket in settings.TAPES_BUCKET_STORAGES
    }


def buckets_cors_enqueue() -> bool:
    """Queue the job that applies the buckets' CORS again (once, however many changes come in
    while it waits). False when Redis is down: ``tapes_storage_setup`` does the same by hand."""
    try:
        queueing.enqueue(BUCKETS_CORS, 0)
    except queueing.QueueUnavailable as exc:
        logger.warning(
            "could not queue the buckets' CORS update (%s); run tapes_storage_setup", exc
        )
        return False
    return True


def buckets_cors_reconcile() -> list[str]:
    """Re-apply the CORS of every bucket that lacks an origin it should allow; the buckets it
    mended. One read per bucket: cheap enough for the reconcile sweep, and the only way to
    notice a change whose job never ran. An origin allowed beyond those (``tapes_storage_setup
    --cors-origin``) is no reason to rewrite the rule: it stays until the next change of sites,
    as it always has."""
    origins = bucket_cors_origins()
    mended: list[str] = []
    for bucket in settings.TAPES_BUCKET_STORAGES:
        allowed = bucket_cors_allowed(bucket=bucket)
        if allowed is None or set(origins) <= set(allowed):
            continue
        bucket_setup(bucket=bucket, cors_origins=origins)
        logger.info("the buckets' CORS of %s was out of date; applied again", bucket)
        mended.append(bucket)
    return mended
