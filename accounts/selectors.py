"""Reads about people and what they own."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from tapes.models import Tape


def user_tapes(*, user: User) -> QuerySet[Tape]:
    """The user's own tapes, newest first, in every state (failed ones included: the owner sees
    why and may retry); nuked ones are gone for everybody."""
    return Tape.objects.visible().filter(user=user).order_by("-when", "-id")


def user_tape(*, user: User, code: str) -> Tape | None:
    return user_tapes(user=user).filter(code=code).first()
