"""Reads the pages need beyond the tapes app's own selectors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, QuerySet

from accounts.models import User
from tapes.models import Tape, TapeStatus, TapeVisibility


def user_get_by_username(*, username: str) -> User | None:
    found: User | None = get_user_model()._default_manager.filter(username=username).first()
    return found


def _feed_base(*, owner: User | None) -> QuerySet[Tape]:
    """What feeds and the sitemap list: public, not nuked, and playable (ready)."""
    tapes = Tape.objects.listed().filter(status=TapeStatus.READY)
    return tapes.filter(user=owner) if owner is not None else tapes


def feed_tapes(*, owner: User | None, limit: int) -> QuerySet[Tape]:
    """The newest ``limit`` tapes of a feed (the site's, or ``owner``'s), newest first."""
    return _feed_base(owner=owner).select_related("user").order_by("-when", "-id")[:limit]


def feed_version(*, owner: User | None, limit: int) -> list[tuple[Any, ...]]:
    """What a feed's body is made of, without the body: per entry its id, its last change and
    its author's names. The same rows as ``feed_tapes`` (one query on the same index), so a
    tape entering, leaving (nuked, unlisted, deleted) or changing, or an author renamed,
    changes it; a change to a tape beyond the feed's ``limit`` does not."""
    rows = feed_tapes(owner=owner, limit=limit).values_list(
        "id", "updated_at", "user__username", "user__name", "user__first_name", "user__last_name"
    )
    return list(rows)


def sitemap_tapes() -> QuerySet[Tape]:
    """Every tape the sitemap lists, in a stable order for its pages (newest last)."""
    return _feed_base(owner=None).only("code", "updated_at").order_by("id")


def sitemap_tapes_version() -> tuple[int, datetime | None]:
    """How many tapes the sitemap lists and their newest change, in one aggregate: a tape
    entering raises the newest change, one leaving lowers the count, one changing raises it."""
    found = _feed_base(owner=None).aggregate(count=Count("id"), newest=Max("updated_at"))
    return int(found["count"]), found["newest"]


def sitemap_users() -> QuerySet[User]:
    """People with at least one listed tape, with ``newest`` (their newest tape's last change)."""
    users: QuerySet[User] = (
        get_user_model()
        ._default_manager.filter(
            tapes__nuked=False,
            tapes__visibility=TapeVisibility.PUBLIC,
            tapes__status=TapeStatus.READY,
        )
        .annotate(newest=Max("tapes__updated_at"))
        .only("username")
        .order_by("id")
    )
    return users
