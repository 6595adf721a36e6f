"""Rate limits key on who really connects, and a cache outage does not take the API down."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from tapesite.throttling import reset_cache_state
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
