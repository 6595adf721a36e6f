"""Reads of the federation app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from federation.errors import public_message
from federation.models import AtprotoAccount, FederationState, TapeFederation
from tapes.models import Tape


def atproto_account_get(*, user: Any) -> AtprotoAccount | None:
    if user is None or not user.is_authenticated:
        return None
    return AtprotoAccount.objects.filter(user=user).first()


def tape_federation(tape: Tape) -> TapeFederation | None:
    """The tape's federation row (joined in when the query selected it), or None."""
    try:
        return tape.federation
    except TapeFederation.DoesNotExist:
        return None


def tape_at_record(tape: Tape) -> dict[str, str] | None:
    """``{rkey, uri, cid}`` of the tape's record once its PDS holds it (the original's ``at``)."""
    fed = tape_federation(tape)
    if fed is None or not fed.uri:
        return None
    return {"uri": fed.uri, "rkey": fed.rkey, "cid": fed.cid}


def tape_federation_summary(tape: Tape, *, detail: bool = False) -> dict[str, str | None]:
    """``{state, code, message}`` for the tape API and pages (``none`` when never federated).

    ``message`` is the fixed text of the code: the stored detail (the PDS's words, its address,
    storage keys, exception text) is added as ``detail`` only when asked (staff)."""
    fed = tape_federation(tape)
    if fed is None:
        summary: dict[str, str | None] = {
            "state": FederationState.NONE.value,
            "code": None,
            "message": None,
        }
    else:
        summary = {
            "state": fed.state,
            "code": fed.code or None,
            "message": public_message(fed.code) if fed.code else None,
        }
    if detail:
        summary["detail"] = (fed.message or None) if fed is not None else None
    return summary


def tapes_federation_failed() -> QuerySet[Tape]:
    """Visible tapes whose federation failed, oldest first (``tapes_federate --failed``)."""
    failed = TapeFederation.objects.filter(state=FederationState.FAILED)
    return Tape.objects.visible().filter(pk__in=failed.values("tape_id")).order_by("pk")
