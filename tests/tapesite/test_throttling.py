"""Rate limits key on who really connects, and a cache outage does not take the API down."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from tapesite.throttling import estimate, reset_cache_state, wait_seconds
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tight_read_limit(settings: Any) -> Iterator[None]:
    from django.core.cache import caches

    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "tape_read": "3/min",
        },
    }
    caches["throttle"].clear()
    reset_cache_state()
    yield
    reset_cache_state()


def _reads(api: Any, forwarded_for: list[str], remote: str = "203.0.113.7") -> list[int]:
    return [
        api.get("/api/tapes", HTTP_X_FORWARDED_FOR=xff, REMOTE_ADDR=remote).status_code
        for xff in forwarded_for
    ]


def test_a_new_forwarded_for_per_request_is_still_throttled(api: Any) -> None:
    # The default trusts no proxy: the header is the client's to write, so it is ignored.
    assert _reads(api, [f"198.51.100.{i}" for i in range(5)]) == [200, 200, 200, 429, 429]


def test_limits_are_per_connecting_address_by_default(api: Any) -> None:
    assert _reads(api, ["x"] * 4, remote="203.0.113.7")[-1] == 429
    assert _reads(api, ["x"], remote="203.0.113.8") == [200]


def test_behind_one_proxy_the_address_it_appends_counts(api: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The proxy appends the real client last; whatever the client wrote before it is ignored.
    spoofed = [f"10.0.0.{i}, 192.0.2.55" for i in range(5)]
    assert _reads(api, spoofed, remote="10.9.9.9") == [200, 200, 200, 429, 429]
    assert _reads(api, ["192.0.2.56"], remote="10.9.9.9") == [200]


def test_limits_hold_with_the_redis_cache(api: Any, settings: Any) -> None:
    settings.CACHES = {
        **django_settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.REDIS_URL,
        },
    }
    assert _reads(api, [f"198.51.100.{i}" for i in range(4)]) == [200, 200, 200, 429]
    assert redis.Redis.from_url(django_settings.REDIS_URL).keys("*throttle_tape_read*")


def test_an_unreachable_throttle_cache_fails_open(api: Any, settings: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # nothing listens once the socket closes
    settings.CACHES = {
        **django_settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0?socket_connect_timeout=0.5",
        },
    }
    assert _reads(api, ["x"] * 5) == [200] * 5


def test_a_silent_throttle_cache_costs_one_timeout_not_one_per_request(
    api: Any, settings: Any
) -> None:
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", free_port()))
        silent.listen(50)  # accepts connections, never answers
        host, port = silent.getsockname()
        settings.CACHES = {
            **django_settings.CACHES,
            "throttle": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://{host}:{port}/0?socket_connect_timeout=0.3&socket_timeout=0.3",
            },
        }
        started = time.monotonic()
        assert _reads(api, ["x"] * 6) == [200] * 6
        # One read timeout (0.3 s, maybe retried once by the client), not six of them.
        assert time.monotonic() - started < 1.5


def test_a_refused_request_does_not_count(api: Any, settings: Any) -> None:
    settings.CACHES = {
        **django_settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.REDIS_URL,
        },
    }
    assert _reads(api, ["x"] * 6) == [200, 200, 200, 429, 429, 429]
    counters = redis.Redis.from_url(django_settings.REDIS_URL)
    (key,) = counters.keys("*throttle_tape_read_203.0.113.7:*")
    assert int(counters.get(key) or 0) == 3  # the served ones, not the three refused
    assert 0 < counters.ttl(key) <= 120  # two windows, then gone


def test_a_refusal_says_when_to_come_back(api: Any) -> None:
    _reads(api, ["x"] * 3)
    refused = api.get("/api/tapes", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    # Three served in this minute: one more fits once they fade, within the next two minutes.
    assert 0 < int(refused["Retry-After"]) <= 120


# --- the counter's arithmetic (pure) -------------------------------------------------------------


def test_the_estimate_weighs_the_previous_window_by_what_is_left_of_it() -> None:
    assert estimate(previous=10, current=0, elapsed=0.0) == 10
    assert estimate(previous=10, current=2, elapsed=0.75) == 4.5
    assert estimate(previous=10, current=2, elapsed=1.0) == 2


@pytest.mark.parametrize(
    ("previous", "current", "elapsed", "limit", "expected"),
    [
        (0, 2, 0.5, 3, 0.0),  # room left now
        (4, 2, 0.5, 3, 30.0),  # 4 * (1 - e) + 2 <= 2: when this window ends
        (4, 1, 0.5, 3, 15.0),  # 4 * (1 - e) + 1 <= 2  <=>  e >= 0.75
        (0, 3, 0.5, 3, 50.0),  # all three in this window: they fade in the next
        (0, 1, 0.0, 1, 120.0),  # a limit of one waits until the request is two windows old
    ],
)
def test_wait_is_when_one_more_request_fits(
    previous: int, current: int, elapsed: float, limit: int, expected: float
) -> None:
    waited = wait_seconds(
        previous=previous, current=current, elapsed=elapsed, limit=limit, duration=60
    )
    assert waited == pytest.approx(expected)
    # And at that moment (nothing sent meanwhile) one more request fits, and not before.
    later = elapsed + waited / 60
    if later >= 1:  # the next window: this one's count is the previous
        previous, current, later = current, 0, later - 1
    assert estimate(previous=previous, current=current, elapsed=later) + 1 <= limit + 1e-9


@pytest.mark.parametrize(("previous", "current"), [(0, 0), (3, 0), (0, 2)])
def test_a_rate_of_none_waits_a_window_and_never_divides_by_zero(
    previous: int, current: int
) -> None:
    waited = wait_seconds(previous=previous, current=current, elapsed=0.25, limit=0, duration=60)
    assert waited == 60.0
