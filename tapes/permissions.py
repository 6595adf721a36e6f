"""Who may do what to a tape, as DRF permission classes: the views stay HTTP only."""

from __future__ import annotations

from typing import Any, cast

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import User
from tapes import services
from tapes.models import Tape
from tapesite.errors import TapesiteError


class TapeOwnerOrStaffCanDelete(BasePermission):
    """Anyone reads; deleting takes the tape's signed-in owner, or a moderator (staff with
    ``tapes.nuke_tape``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS or request.user.is_authenticated:
            return True
        raise TapesiteError("not_authenticated", "Sign in to delete a tape.", status=401)

    def has_object_permission(self, request: Request, view: Any, obj: Tape) -> bool:
        if request.method not in SAFE_METHODS:
            services.tape_nuke_check(tape=obj, actor=cast(User, request.user))
        return True


class TapeOwnerOrStaffCanRetry(BasePermission):
    """Retrying a failed tape's video takes a signed-in owner of the tape, or staff."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.user.is_authenticated:
            return True
        raise TapesiteError("not_authenticated", "Sign in to retry a tape.", status=401)

    def has_object_permission(self, request: Request, view: Any, obj: Tape) -> bool:
        services.tape_retry_check(tape=obj, actor=cast(User, request.user))
        return True
