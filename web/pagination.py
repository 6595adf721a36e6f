"""Cursor (keyset) paging for the tape grids: stable while new tapes arrive, cheap at any depth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet

_SALT = "web.tape-cursor"


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


class CursorInvalid(ValueError):
    pass


def _encode(when: datetime, pk: int) -> str:
    return signing.dumps([when.isoformat(), pk], salt=_SALT, compress=True)


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        when, pk = signing.loads(cursor, salt=_SALT)
        return datetime.fromisoformat(when), int(pk)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise CursorInvalid("not a cursor of ours") from exc


def page_of(queryset: QuerySet[Any], *, cursor: str | None, size: int) -> Page:
    """One page of ``queryset`` (ordered newest first by ``when`` then ``id``) after ``cursor``."""
    if cursor:
        when, pk = _decode(cursor)
        queryset = queryset.filter(Q(when__lt=when) | Q(when=when, id__lt=pk))
    rows = list(queryset.order_by("-when", "-id")[: size + 1])
    items = rows[:size]
    more = len(rows) > size
    return Page(items, _encode(items[-1].when, items[-1].pk) if more and items else None)
