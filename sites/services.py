"""Registering, changing and removing sites. Every change that may alter the set of active
origins announces ``sites_changed`` after it commits, so the buckets' CORS follows the admin;
and each is in the audit log (who let which origin post, and who suspended it)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
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


def _stored(site: Site) -> dict[str, Any]:
    """The site's editable fields as the database has them, for the audit log (the admin's form
    has already changed the instance it hands over)."""
    row = Site.objects.filter(pk=site.pk).values(*EDITABLE_FIELDS).first() or {}
    return {field: row.get(field) for field in EDITABLE_FIELDS}


def _plain(site: Site) -> dict[str, Any]:
    values = {field: getattr(site, field) for field in EDITABLE_FIELDS}
    values["guest_owner"] = site.guest_owner_id
    return values


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
    actor: User | None = None,
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
    audit_record(actor=actor, action=AuditAction.SITE_REGISTER, target=site, details=_plain(site))
    _announce()
    return site


@transaction.atomic
def site_update(*, site: Site, actor: User | None = None, **changes: Any) -> Site:
    """Change any of the site's editable fields (origin, name, active, guest_owner and the
    limits); the audit log keeps what changed, from what to what."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Not a site field: {', '.join(sorted(unknown))}.")
    if "origin" in changes:
        changes["origin"] = normalised_origin(str(changes["origin"]))
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    before = _stored(site)
    for field, value in changes.items():
        setattr(site, field, value)
    site.full_clean()
    site.save()
    after = _plain(site)
    changed = {f: [before[f], after[f]] for f in EDITABLE_FIELDS if before[f] != after[f]}
    if changed:
        audit_record(actor=actor, action=AuditAction.SITE_CHANGE, target=site, details=changed)
    _announce()
    return site


def site_suspend(*, site: Site, actor: User | None = None) -> Site:
    return site_update(site=site, actor=actor, active=False)


@transaction.atomic
def site_delete(*, site: Site, actor: User | None = None) -> None:
    """Remove a site. Tapes posted from it keep their origin and piece URL (their ``site`` goes
    empty), and its origin is refused from then on."""
    audit_record(actor=actor, action=AuditAction.SITE_REMOVE, target=site, details=_stored(site))
    site.delete()
    _announce()
