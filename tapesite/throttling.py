"""Rate limits that survive their cache going away.

The throttle counters live in a cache (Redis in production). When that cache is unreachable the
limits cannot be counted, and refusing every request would turn a cache outage into a site
outage (posting included, which must keep answering ``uploaded`` while Redis is down). So the
throttle fails open: the request goes through, the failure is logged, and for a short while
requests skip the cache instead of each paying a connect timeout.

The client's identity is DRF's ``get_ident``: ``REMOTE_ADDR`` unless ``NUM_PROXIES``
(``TAPES_TRUSTED_PROXIES``) says how many proxies in front of the site append to
X-Forwarded-For.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_skip_until = 0.0


def _cache_down() -> bool:
    return time.monotonic() < _skip_until


def _mark_cache_down(exc: BaseException) -> None:
    global _skip_until
    with _lock:
        already = _cache_down()
        _skip_until = time.monotonic() + float(settings.TAPES_THROTTLE_CACHE_RETRY_SECONDS)
    if not already:
        logger.warning("throttle cache unreachable, rate limits are off for now: %s", exc)


def reset_cache_state() -> None:
    """Forget a recorded outage (tests, and operators after fixing the cache)."""
    global _skip_until
    with _lock:
        _skip_until = 0.0


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    def __init__(self) -> None:
        # Looked up per request (DRF reads both once, at import), so changed settings take effect.
        self.cache = caches["throttle"]
        rates = api_settings.DEFAULT_THROTTLE_RATES.items()
        self.THROTTLE_RATES = {k: None if v is None else str(v) for k, v in rates}
        super().__init__()

    def allow_request(self, request: Any, view: Any) -> bool:
        if _cache_down():
            return True
        try:
            return bool(super().allow_request(request, view))
        except Exception as exc:  # any cache client error: connection refused, timeout
            _mark_cache_down(exc)
            return True


__all__ = ["ScopedRateThrottle", "reset_cache_state"]
