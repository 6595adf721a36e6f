"""Registering, changing and removing sites. Every change that may alter the set of active
origins announces ``sites_changed`` after it commits, so the buckets' CORS follows the admin."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from sites.events import sites_changed
from sites.models import Site
from sites.origins import origin_or_none

# What staff may set on a site (the admin's form shows these, in this order).
EDITABLE_FIELDS = (
    "origin",
    "name",
    "active",
    "guest_owner",
    "tapes_per_day",
    "bytes_per_day",
    "posts_per_minute",
)


def _announce() -> None:
    transaction.on_commit(lambda: sites_changed.send(sender=Site))


def normalised_origin(origin: str) -> str:
    """An origin as the browser sends it (staff may paste "HTTPS://Pieces.Example/"); anything
    that is not an origin, as typed, for the model's validator to explain."""
    return origin_or_none(origin) or origin


@transaction.atomic
def site_create(
    *,
    origin: str,
    name: str,
    active: bool = True,
    guest_owner: User | None = None,
    tapes_per_day: int = 0,
    bytes_per_day: int = 0,
    posts_per_minute: int = 0,
) -> Site:
    site = Site(
        origin=normalised_origin(origin),
        name=name.strip(),
        active=active,
        guest_owner=guest_owner,
        tapes_per_day=tapes_per_day,
        bytes_per_day=bytes_per_day,
        posts_per_minute=posts_per_minute,
    )
    site.full_clean()
    site.save(force_insert=True)
    _announce()
    return site


@transaction.atomic
def site_update(*, site: Site, **changes: Any) -> Site:
    """Change any of the site's editable fields (origin, name, active, guest_owner and the
    limits)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Not a site field: {', '.join(sorted(unknown))}.")
    if "origin" in changes:
        changes["origin"] = normalised_origin(str(changes["origin"]))
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    for field, value in changes.items():
        setattr(site, field, value)
    site.full_clean()
    site.save()
    _announce()
    return site


def site_suspend(*, site: Site) -> Site:
    return site_update(site=site, active=False)


@transaction.atomic
def site_delete(*, site: Site) -> None:
    """Remove a site. Tapes posted from it keep their origin and piece URL (their ``site`` goes
    empty), and its origin is refused from then on."""
    site.delete()
    _announce()
