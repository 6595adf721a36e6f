"""The API's door to ``tapes.policy``, as DRF permission classes: the views stay HTTP only."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tapes.models import Tape
from tapes.policy import TapeAction, tape_permission_check
from tapesite.errors import TapesiteError


class TapeOwnerOrStaffCanChange(BasePermission):
    """Anyone reads; editing takes the tape's signed-in owner or staff with
    ``tapes.change_tape``, deleting its owner or a moderator (staff with ``tapes.nuke_tape``).
    A guest deletes with the claim token their browser holds: the view hands that to its own
    service, which checks the token."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS or request.user.is_authenticated:
            return True
        if request.method == "DELETE" and request.headers.get("X-Claim-Token"):
            return True
        doing = "delete" if request.method == "DELETE" else "change"
        raise TapesiteError("not_authenticated", f"Sign in to {doing} a tape.", status=401)

    def has_object_permission(self, request: Request, view: Any, obj: Tape) -> bool:
        if request.method == "PATCH":
            tape_permission_check(actor=request.user, tape=obj, action=TapeAction.EDIT)
        elif request.method not in SAFE_METHODS:
            tape_permission_check(actor=request.user, tape=obj, action=TapeAction.DELETE)
        return True


class TapeOwnerOrStaffCanRetry(BasePermission):
    """Retrying a failed tape's video takes its signed-in owner, or staff with
    ``tapes.change_tape`` (audited by the service)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.user.is_authenticated:
            return True
        raise TapesiteError("not_authenticated", "Sign in to retry a tape.", status=401)

    def has_object_permission(self, request: Request, view: Any, obj: Tape) -> bool:
        tape_permission_check(actor=request.user, tape=obj, action=TapeAction.RETRY_ENCODE)
        return True
