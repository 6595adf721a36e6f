from __future__ import annotations

from django.db.models import QuerySet

from sites.models import Site
from sites.origins import origin_or_none


def site_for_origin(*, origin: str) -> Site | None:
    """The site registered for ``origin`` (active or not), or None: one probe of the unique
    index, cheap enough for every cross-origin request."""
    normalised = origin_or_none(origin)
    if normalised is None:
        return None
    return Site.objects.filter(origin=normalised).select_related("guest_owner").first()


def sites_active() -> QuerySet[Site]:
    return Site.objects.filter(active=True)


def site_origins_active() -> list[str]:
    return list(sites_active().order_by("origin").values_list("origin", flat=True))
