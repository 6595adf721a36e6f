"""Rate limits: one cache round trip per request, whatever the rate, and they survive their cache
going away.

DRF's own throttle keeps a list of every request's timestamp in the window, reads it and writes it
back: two round trips, and a payload that grows with the rate (a 1000/min limit under load moves
a thousand pickled floats each way per request). Here each (scope, client) has one counter per
window, and a request's count is the sliding-window estimate ``previous * (1 - elapsed) +
current``: on Redis one pipelined INCR/EXPIRE/GET, on other caches (locmem in development) the
same through the cache API. Refused requests do not count, as with DRF.

When the cache is unreachable the limits cannot be counted, and refusing every request would turn
a cache outage into a site outage (posting included, which must keep answering ``uploaded`` while
Redis is down). So the throttle fails open: the request goes through, the failure is logged, and
for a short while requests skip the cache instead of each paying a connect timeout.

The client's identity is DRF's ``get_ident``: ``REMOTE_ADDR`` unless ``NUM_PROXIES``
(``TAPES_TRUSTED_PROXIES``) says how many proxies in front of the site append to
X-Forwarded-For.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_skip_until = 0.0
# One client (and so one connection pool) per Redis URL per process. Django's RedisCache builds
# a new client object for every operation, which costs more than the round trip here.
_clients: dict[str, redis.Redis] = {}


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


def estimate(*, previous: int, current: int, elapsed: float) -> float:
    """Requests in the sliding window that ends now: all of this window's, and the share of the
    previous window's that still falls inside it (``elapsed`` is how far into the current window
    we are, 0..1), as if they had been spread evenly."""
    return previous * (1.0 - elapsed) + current


def wait_seconds(
    *, previous: int, current: int, elapsed: float, limit: int, duration: float
) -> float:
    """How long until one more request fits under ``limit``, if nothing else is sent meanwhile
    (``current`` counts the requests served in this window, not the refused one)."""
    if limit <= 0:
        # A rate of none ("0/min", a step switched off) never lets one through: ask again
        # after a window, by when an operator may have changed it (and no division by zero).
        return duration
    room = limit - 1  # what the others may add up to, with the new request on top
    if estimate(previous=previous, current=current, elapsed=elapsed) <= room:
        return 0.0
    if previous > 0 and current <= room:
        # previous * (1 - e) + current <= room  <=>  e >= 1 - (room - current) / previous
        return max(0.0, (1.0 - (room - current) / previous - elapsed) * duration)
    # Not within this window: in the next one this window's count is the share that fades.
    # current * (1 - e) <= room  <=>  e >= 1 - room / current
    return (1.0 - elapsed + max(0.0, 1.0 - room / current)) * duration


def _redis_client(location: str | list[str]) -> redis.Redis:
    url = location[0] if isinstance(location, list) else location
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.setdefault(url, redis.Redis.from_url(url))
    return client


def client_address(request: Any) -> str:
    """The client a request comes from, as the rate limits count it: ``REMOTE_ADDR``, or the
    address the trusted proxies (``TAPES_TRUSTED_PROXIES``) put in X-Forwarded-For. Anything
    else that counts guests (the posting quota, the open-slot cap) must use this, so a client
    cannot name itself another address."""
    return str(throttling.BaseThrottle().get_ident(request) or "")[:64]


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    def __init__(self) -> None:
        # Looked up per request (DRF reads both once, at import), so changed settings take effect.
        rates = api_settings.DEFAULT_THROTTLE_RATES.items()
        self.THROTTLE_RATES = {k: None if v is None else str(v) for k, v in rates}
        self.previous = self.current = 0
        self.elapsed = 0.0

    def allow_request(self, request: Any, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        return self.allow_keyed(self.get_cache_key(request, view))

    def allow_keyed(self, key: str | None) -> bool:
        """Count one request against ``key`` at the rate already parsed (``num_requests`` per
        ``duration``): the step subclasses with their own keys and rates share."""
        if key is None or _cache_down():
            return True
        try:
            return self._count(key, duration=float(self.duration or 1))
        except Exception as exc:  # any cache client error: connection refused, timeout
            _mark_cache_down(exc)
            return True

    def _count(self, key: str, *, duration: float) -> bool:
        now = time.time()
        window = math.floor(now / duration)
        self.elapsed = now / duration - window
        cache = caches["throttle"]
        current_key = cache.make_key(f"{key}:{window}")
        previous_key = cache.make_key(f"{key}:{window - 1}")
        # Kept for two windows: the next window still reads this one.
        ttl = int(duration) * 2
        if isinstance(cache, RedisCache):
            client = _redis_client(settings.CACHES["throttle"]["LOCATION"])
            pipe = client.pipeline(transaction=False)
            pipe.incr(current_key)
            pipe.expire(current_key, ttl)
            pipe.get(previous_key)
            current, _, previous = pipe.execute()
            self.current, self.previous = int(current), int(previous or 0)
            allowed = self._within_limit()
            if not allowed:
                client.decr(current_key)  # refused requests do not count
            return allowed
        # Other caches store keys under their own make_key: hand them the raw names.
        raw_current, raw_previous = f"{key}:{window}", f"{key}:{window - 1}"
        cache.add(raw_current, 0, ttl)
        self.current = int(cache.incr(raw_current))
        self.previous = int(cache.get(raw_previous) or 0)
        allowed = self._within_limit()
        if not allowed:
            cache.decr(raw_current)
        return allowed

    def _within_limit(self) -> bool:
        count = estimate(previous=self.previous, current=self.current, elapsed=self.elapsed)
        return count <= int(self.num_requests or 0)

    def wait(self) -> float | None:
        return wait_seconds(
            # The refused request was taken back out of the count.
            previous=self.previous,
            current=self.current - 1,
            elapsed=self.elapsed,
            limit=int(self.num_requests or 0),
            duration=float(self.duration or 0),
        )


__all__ = ["ScopedRateThrottle", "client_address", "estimate", "reset_cache_state", "wait_seconds"]
