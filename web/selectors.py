"""Reads the pages need beyond the tapes app's own selectors."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.models import User


def user_get_by_username(*, username: str) -> User | None:
    found: User | None = get_user_model()._default_manager.filter(username=username).first()
    return found
