"""The sites' services and selectors on the real database: origins normalised and validated,
limits with their settings defaults, and sites_changed announced after each commit."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from sites import selectors, services
from sites.events import sites_changed
from sites.models import Site
from tests.sites.factories import SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced() -> Any:
    heard: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        heard.append(sender)

    sites_changed.connect(receiver, dispatch_uid="tests.sites.announced")
    yield heard
    sites_changed.disconnect(dispatch_uid="tests.sites.announced")


def test_create_normalises_the_origin_and_announces_after_commit(
    announced: list[Any], django_capture_on_commit_callbacks: Any, user: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        site = services.site_create(origin="HTTPS://Pieces.Example:443/", name=" Pieces ")
        assert announced == []  # not before the commit
    assert len(callbacks) == 1 and announced == [Site]
    site.refresh_from_db()
    assert (site.origin, site.name, site.active, site.guest_owner) == (
        "https://pieces.example",
        "Pieces",
        True,
        None,
    )


@pytest.mark.parametrize("origin", ["pieces.example", "https://pieces.example/x", "null"])
def test_create_refuses_what_is_not_an_origin(origin: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.site_create(origin=origin, name="Pieces")
    assert "origin" in caught.value.message_dict
    assert not Site.objects.exists()


def test_an_origin_is_registered_once() -> None:
    services.site_create(origin="https://pieces.example", name="Pieces")
    with pytest.raises(ValidationError) as caught:
        services.site_create(origin="https://PIECES.example", name="Again")
    assert "origin" in caught.value.message_dict


def test_update_suspend_and_delete(
    announced: list[Any], django_capture_on_commit_callbacks: Any, user: Any
) -> None:
    site = SiteFactory.create(origin="https://pieces.example")
    with django_capture_on_commit_callbacks(execute=True):
        services.site_update(site=site, guest_owner=user, posts_per_minute=5, name="New name")
        services.site_suspend(site=site)
    site.refresh_from_db()
    assert (site.guest_owner, site.posts_per_minute, site.name, site.active) == (
        user,
        5,
        "New name",
        False,
    )
    with pytest.raises(ValidationError):
        services.site_update(site=site, created_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.site_delete(site=site)
    assert not Site.objects.exists()
    assert len(announced) == 3


def test_zero_limits_mean_the_settings_defaults(settings: Any) -> None:
    settings.TAPES_SITE_TAPES_PER_DAY = 7
    settings.TAPES_SITE_BYTES_PER_DAY = 8
    settings.TAPES_SITE_POSTS_PER_MINUTE = 9
    site = SiteFactory.create()
    assert (site.limit_tapes_per_day(), site.limit_bytes_per_day()) == (7, 8)
    assert site.limit_posts_per_minute() == 9
    own = SiteFactory.create(tapes_per_day=1, bytes_per_day=2, posts_per_minute=3)
    assert (own.limit_tapes_per_day(), own.limit_bytes_per_day()) == (1, 2)
    assert own.limit_posts_per_minute() == 3


def test_site_for_origin_finds_active_and_suspended_sites(django_assert_num_queries: Any) -> None:
    site = SiteFactory.create(origin="https://pieces.example")
    off = SiteFactory.create(origin="http://127.0.0.1:9000", active=False)
    with django_assert_num_queries(1):
        assert selectors.site_for_origin(origin="https://Pieces.example:443") == site
    assert selectors.site_for_origin(origin="http://127.0.0.1:9000") == off
    assert selectors.site_for_origin(origin="https://other.example") is None
    with django_assert_num_queries(0):
        assert selectors.site_for_origin(origin="null") is None
    assert selectors.site_origins_active() == ["https://pieces.example"]
