"""Who is signed in, for the APIs of every app."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from accounts.models import User
from tapesite.errors import TapesiteError


def signed_in_user(request: Request) -> User:
    """The signed-in user, or the API's 401."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise TapesiteError("not_authenticated", "Sign in first.", status=401)
    return user


class SignedIn(IsAuthenticated):
    def has_permission(self, request: Request, view: Any) -> bool:
        signed_in_user(request)
        return True
