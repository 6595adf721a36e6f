"""Posting quotas: how many tapes, and how many bytes, one poster may post in a rolling day.

A poster is a signed-in user or a guest's address (the throttles' notion of a client, so the same
trusted-proxy rule applies and X-Forwarded-For cannot be forged past it). What counts, over the
last 24 hours, is read from the database on every check, so the quota holds across any number of
web nodes with no state in a process:

- tapes the poster registered, at the size stored (nuked ones too: a deletion frees storage later,
  but the post and its encoding happened);
- upload slots the poster reserved and has not posted yet, at their declared size, while their
  form can still be used: a reservation nobody uses stops counting when its form expires.

Both doors check: starting an upload (the declared size) and registering it (the size stored). A
per-poster PostgreSQL advisory lock, held until the caller's transaction ends, makes the count and
the insert that follows one step, so concurrent requests on several nodes cannot all squeeze in
under the limit. (Starting an upload outside a transaction needs no lock: it inserts the slot
first and counts after, so of two racing starts the later one always sees the earlier. Both may
be refused when each sees the other, never both admitted; a retry gets in.)

A registered site (the sites app) has a quota of its own, counted the same way over everything
posted from its pages by any client, and checked as well as the poster's (``site_usage_of``,
``site_quota_check``, under the site's own lock: always taken before the poster's).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.crypto import salted_hmac

from accounts.models import User
from sites.models import Site
from tapes.models import Tape, TapeUpload
from tapesite.errors import TapesiteError

WINDOW = timedelta(days=1)
# The first half of the advisory lock's key: this lock among any others the site may take.
_LOCK_NAMESPACE = 0x7A9E


@dataclass(frozen=True)
class Poster:
    """Who a post counts against. ``key`` is stored on the tape (``Tape.poster``); ``client`` is
    how their upload slots name them (``TapeUpload.client``)."""

    key: str
    client: str
    kind: str  # "user" | "guest"
    max_tapes: int
    max_bytes: int
    user: User | None = None

    @property
    def limited(self) -> bool:
        return bool(self.key) and (self.max_tapes > 0 or self.max_bytes > 0)

    def exempt(self) -> bool:
        # Asked only once a post would be refused: permissions cost queries on every post.
        return self.user is not None and self.user.has_perm("tapes.post_without_quota")


def poster_for(*, user: User | None, client: str) -> Poster:
    """The poster of a post by ``user`` (None: a guest at the address ``client``). A guest with
    no address (a post from a management command or a test, not through HTTP) is not limited."""
    if user is not None:
        return Poster(
            key=f"user:{user.pk}",
            client=f"user:{user.pk}",
            kind="user",
            max_tapes=int(settings.TAPES_QUOTA_USER_TAPES_PER_DAY),
            max_bytes=int(settings.TAPES_QUOTA_USER_BYTES_PER_DAY),
            user=user,
        )
    # Tapes outlive the day they count for: they keep a keyed hash of the address, not the
    # address (the upload slot, gone within the hour, keeps the address itself).
    digest = salted_hmac("tapes.quota-poster", client).hexdigest()[:40] if client else ""
    return Poster(
        key=f"guest:{digest}" if client else "",
        client=client,
        kind="guest",
        max_tapes=int(settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY),
        max_bytes=int(settings.TAPES_QUOTA_GUEST_BYTES_PER_DAY),
    )


def quota_lock(poster: Poster) -> None:
    """Hold the poster's quota lock until the current transaction ends (call it inside one)."""
    if not poster.limited:
        return
    _advisory_lock(poster.key)


@dataclass(frozen=True)
class _Use:
    leaves_at: datetime  # when it stops counting
    bytes: int


@dataclass(frozen=True)
class Usage:
    """What counts against a poster, besides the slot being started or registered."""

    uses: list[_Use]
    # Slots started within TAPES_UPLOAD_ABANDONED_AFTER_SECONDS and never posted, that one too.
    open_slots: int


_TAPE, _SLOT = 0, 1


def usage_of(*, poster: Poster, upload_id: int | None, now: datetime) -> Usage:
    """One query: the poster's tapes of the last day and their slots not posted yet."""
    if not poster.client:
        return Usage(uses=[], open_slots=0)
    abandoned = timedelta(seconds=int(settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS))
    if not poster.limited:
        # Only the open-slot cap applies: a count, not a row per tape of the poster's day (which
        # for a busy address grows with every post).
        open_slots = TapeUpload.objects.filter(
            client=poster.client, tape__isnull=True, created_at__gte=now - abandoned
        ).count()
        return Usage(uses=[], open_slots=open_slots)
    columns = ("kind", "pk", "created_at", "leaves_at", "size")
    tapes = (
        Tape.objects.filter(poster=poster.key, created_at__gt=now - WINDOW)
        .annotate(
            kind=Value(_TAPE),
            leaves_at=F("created_at"),
            size=Coalesce("zip_bytes", 0, output_field=BigIntegerField()),
        )
        .values_list(*columns)
    )
    slots = (
        TapeUpload.objects.filter(client=poster.client, tape__isnull=True)
        .filter(Q(created_at__gte=now - abandoned) | Q(expires_at__gt=now))
        .annotate(
            kind=Value(_SLOT),
            leaves_at=F("expires_at"),
            size=Coalesce("declared_bytes", 0, output_field=BigIntegerField()),
        )
        .values_list(*columns)
    )
    # Without the models' default ordering: SQLite refuses ORDER BY inside a compound query.
    rows = list(tapes.order_by().union(slots.order_by(), all=True)) if poster.key else list(slots)
    uses: list[_Use] = []
    open_slots = 0
    for kind, pk, created_at, leaves_at, size in rows:
        if kind == _TAPE:
            uses.append(_Use(leaves_at=leaves_at + WINDOW, bytes=size))
            continue
        if created_at >= now - abandoned:
            open_slots += 1
        # A slot whose form expired can no longer receive a ZIP: it stops counting.
        if pk != upload_id and leaves_at > now:
            uses.append(_Use(leaves_at=leaves_at, bytes=size))
    return Usage(uses=uses, open_slots=open_slots)


def _advisory_lock(key: str) -> None:
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(key.encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [_LOCK_NAMESPACE, int.from_bytes(digest[:4], "big", signed=True)],
        )


def site_quota_lock(site: Site) -> None:
    """Hold the site's quota lock until the current transaction ends (before the poster's)."""
    _advisory_lock(f"site:{site.pk}")


def site_usage_of(*, site: Site, upload_id: int | None, now: datetime) -> Usage:
    """One query: the site's tapes of the last day and its slots not posted yet, whoever
    started them (``open_slots`` is not used for sites)."""
    columns = ("kind", "pk", "leaves_at", "size")
    tapes = (
        Tape.objects.filter(site=site, created_at__gt=now - WINDOW)
        .annotate(
            kind=Value(_TAPE),
            leaves_at=F("created_at"),
            size=Coalesce("zip_bytes", 0, output_field=BigIntegerField()),
        )
        .values_list(*columns)
    )
    slots = (
        TapeUpload.objects.filter(site=site, tape__isnull=True, expires_at__gt=now)
        .exclude(pk=upload_id or 0)
        .annotate(
            kind=Value(_SLOT),
            leaves_at=F("expires_at"),
            size=Coalesce("declared_bytes", 0, output_field=BigIntegerField()),
        )
        .values_list(*columns)
    )
    uses = [
        _Use(leaves_at=leaves_at + WINDOW if kind == _TAPE else leaves_at, bytes=size)
        for kind, _pk, leaves_at, size in tapes.order_by().union(slots.order_by(), all=True)
    ]
    return Usage(uses=uses, open_slots=0)


def site_quota_check(*, site: Site, upload_id: int | None, size: int, now: datetime) -> None:
    """Count the site's day (``site_usage_of``) and refuse one more tape of ``size`` bytes that
    would take it over its daily limits (0 on the site: the settings' default). Nobody is
    exempt: the limit is the site's."""
    max_tapes, max_bytes = site.limit_tapes_per_day(), site.limit_bytes_per_day()
    if max_tapes <= 0 and max_bytes <= 0:
        return
    over = _over_limit(
        site_usage_of(site=site, upload_id=upload_id, now=now).uses,
        size=size,
        max_tapes=max_tapes,
        max_bytes=max_bytes,
    )
    if over is None:
        return
    if over.limit_name == "tapes_per_day":
        said = f"Pages on {site.name} have posted {over.used} of the {over.limit} tapes it may"
    else:
        said = (
            f"Pages on {site.name} have posted {_mib(over.used)} of the {_mib(over.limit)} it may"
        )
    raise _refusal(
        over,
        code="site_quota_exceeded",
        said=said + " in 24 hours",
        whose=("site", site.origin),
        again="Tapes can be posted from it again",
        now=now,
    )


def quota_check(*, poster: Poster, usage: Usage, size: int, now: datetime) -> None:
    """Refuse one more tape of ``size`` bytes that would take ``poster`` over a daily limit."""
    if not poster.limited:
        return
    over = _over_limit(
        usage.uses, size=size, max_tapes=poster.max_tapes, max_bytes=poster.max_bytes
    )
    if over is None or poster.exempt():
        return
    who = "You have" if poster.kind == "user" else "Guests at your address have"
    if over.limit_name == "tapes_per_day":
        said = f"{who} posted {over.used} of {over.limit} tapes allowed in 24 hours"
    else:
        said = f"{who} posted {_mib(over.used)} of {_mib(over.limit)} allowed in 24 hours"
        if over.adding > over.limit:
            said += f", and this tape alone is {_mib(over.adding)}"
    if poster.kind == "guest":
        said += " (signing in gives you your own allowance)"
    raise _refusal(
        over,
        code="quota_exceeded",
        said=said,
        whose=("poster", poster.kind),
        again="You can post again",
        now=now,
    )


@dataclass(frozen=True)
class _Over:
    """The daily limit one more tape would break, and what is already used of it."""

    limit_name: str  # "tapes_per_day" | "bytes_per_day"
    limit: int
    used: int
    uses: list[_Use]
    adding: int
    # What one use frees as it leaves the window: 1 when counting tapes, 0 (its bytes) for bytes.
    per_use: int


def _over_limit(uses: list[_Use], *, size: int, max_tapes: int, max_bytes: int) -> _Over | None:
    """The first limit (tapes, then bytes; 0: none) that one more tape of ``size`` would break."""
    if max_tapes > 0 and len(uses) + 1 > max_tapes:
        return _Over("tapes_per_day", max_tapes, len(uses), uses, adding=1, per_use=1)
    used_bytes = sum(use.bytes for use in uses)
    if max_bytes > 0 and used_bytes + size > max_bytes:
        return _Over("bytes_per_day", max_bytes, used_bytes, uses, adding=size, per_use=0)
    return None


def _resets_at(over: _Over) -> datetime | None:
    """When enough of today's uses have left the window for ``adding`` more to fit, or None if
    it never will."""
    if over.adding > over.limit:
        return None
    used = over.used
    for use in sorted(over.uses, key=lambda u: u.leaves_at):
        used -= over.per_use or use.bytes
        if used + over.adding <= over.limit:
            return use.leaves_at
    return None


def _refusal(
    over: _Over, *, code: str, said: str, whose: tuple[str, str], again: str, now: datetime
) -> TapesiteError:
    """The 429 for ``over``: ``said`` and, when the window will free enough, when to come back;
    ``whose`` names what the limit is counted against in the details."""
    resets_at = _resets_at(over)
    details: dict[str, object] = {
        "limit": over.limit_name,
        whose[0]: whose[1],
        "max": over.limit,
        "used": over.used,
        "window_seconds": int(WINDOW.total_seconds()),
        "resets_at": resets_at.isoformat() if resets_at else None,
    }
    if resets_at is not None:
        details["retry_after"] = max(1, math.ceil((resets_at - now).total_seconds()))
        said += f". {again} after {resets_at:%Y-%m-%d %H:%M} UTC."
    else:
        said += "."
    return TapesiteError(code, said, status=429, details=details)


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


__all__ = [
    "WINDOW",
    "Poster",
    "Usage",
    "poster_for",
    "quota_check",
    "quota_lock",
    "site_quota_check",
    "site_quota_lock",
    "site_usage_of",
    "usage_of",
]
