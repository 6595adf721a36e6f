"""The admin's moderation actions: each asks for a reason on an intermediate page, then calls
the service (the tapes app's, or federation's for its record), which checks the permission again
through ``tapes.policy`` and writes the audit entry. The admin is an edge: it may compose apps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.models import User
from federation.models import FederationState
from federation.selectors import tape_federation
from federation.services import (
    tape_federation_delete_abandon,
    tape_federation_delete_retry,
    tape_federation_retry,
)
from tapes import services
from tapes.models import Tape, TapeStatus
from tapesite.errors import TapesiteError

# A bulk action over more tapes than this is refused: select fewer, or narrow the filters.
BULK_LIMIT = 500


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Recorded in the audit log with your name and the time.",
    )


# Why an action does not apply to a tape in its present state (None: it applies). The detail
# page offers only the actions that apply, and a bulk action skips the others, saying why,
# rather than "nuking" a nuked tape again or re-encoding a ready one. The services still check
# everything themselves (the state may change between the page and the click).


def _nuke_unavailable(tape: Tape) -> str | None:
    return "already nuked" if tape.nuked else None


def _unnuke_unavailable(tape: Tape) -> str | None:
    if not tape.nuked:
        return "not nuked"
    if tape.files_purged_at is not None:
        return "its files were purged; it cannot be restored"
    return None


def _retry_encode_unavailable(tape: Tape) -> str | None:
    if tape.nuked:
        return "nuked: un-nuke it first"
    # A ready tape may be encoded again (a new encoder, a bad video); one being encoded may not.
    if tape.status == TapeStatus.PROCESSING:
        return "it is being encoded right now"
    return None


def _retry_federation_unavailable(tape: Tape) -> str | None:
    fed = tape_federation(tape)
    if fed is None or not fed.wanted or fed.state != FederationState.FAILED:
        return "its federation has not failed"
    return None


def _record_delete_unavailable(tape: Tape, states: tuple[str, ...]) -> str | None:
    fed = tape_federation(tape)
    if fed is None or fed.wanted or not fed.stale_rkeys or fed.state not in states:
        return "no record of it is waiting to be deleted"
    return None


@dataclass(frozen=True)
class Moderation:
    name: str
    label: str
    done: str
    # The ModelAdmin's has_<permission>_permission decides who sees it.
    permission: str
    run: Callable[..., Any]
    unavailable: Callable[[Tape], str | None]

    def applies(self, tape: Tape) -> bool:
        return self.unavailable(tape) is None


MODERATIONS: dict[str, Moderation] = {
    moderation.name: moderation
    for moderation in (
        Moderation("nuke", "Nuke", "nuked", "nuke", services.tape_nuke, _nuke_unavailable),
        Moderation(
            "unnuke", "Un-nuke", "restored", "nuke", services.tape_unnuke, _unnuke_unavailable
        ),
        Moderation(
            "retry_encode",
            "Retry encode",
            "queued for encoding",
            "retry",
            services.tape_reencode,
            _retry_encode_unavailable,
        ),
        Moderation(
            "retry_federation",
            "Retry federation",
            "queued for federation",
            "retry",
            tape_federation_retry,
            _retry_federation_unavailable,
        ),
        # A nuked tape's record whose delete gave up (federation filter: record delete failed).
        Moderation(
            "retry_record_delete",
            "Retry record delete",
            "queued for deleting their record",
            "retry",
            tape_federation_delete_retry,
            lambda tape: _record_delete_unavailable(tape, (FederationState.FAILED,)),
        ),
        Moderation(
            "abandon_record_delete",
            "Abandon record delete",
            "left on their PDS",
            "retry",
            tape_federation_delete_abandon,
            lambda tape: _record_delete_unavailable(
                tape, (FederationState.FAILED, FederationState.PENDING)
            ),
        ),
    )
}


@dataclass
class Outcome:
    done: list[str]
    refused: Counter[str]


def run_moderation(
    moderation: Moderation, tapes: Iterable[Tape], *, actor: User, reason: str
) -> Outcome:
    outcome = Outcome(done=[], refused=Counter())
    for tape in tapes:
        skipped = moderation.unavailable(tape)
        if skipped is not None:
            outcome.refused[skipped] += 1
            continue
        try:
            moderation.run(tape=tape, actor=actor, reason=reason)
        except TapesiteError as exc:
            outcome.refused[exc.message] += 1
        else:
            outcome.done.append(tape.code)
    return outcome


def report(request: HttpRequest, moderation: Moderation, outcome: Outcome) -> None:
    if outcome.done:
        shown = ", ".join(f"!{code}" for code in outcome.done[:20])
        more = f" and {len(outcome.done) - 20} more" if len(outcome.done) > 20 else ""
        messages.success(
            request, f"{moderation.label}: {len(outcome.done)} {moderation.done} ({shown}{more})."
        )
    for message, count in outcome.refused.items():
        times = f" ({count} tapes)" if count > 1 else ""
        messages.error(request, f"{moderation.label} refused{times}: {message}")


class ModerationViews(admin.ModelAdmin):
    """The TapeAdmin's moderation pages: the reason form, then the action, one tape or many."""

    def _render_reason_form(
        self,
        request: HttpRequest,
        moderation: Moderation,
        tapes: list[Tape],
        form: ReasonForm,
        *,
        bulk: bool,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"{moderation.label}: why?",
            "opts": self.model._meta,
            "moderation": moderation,
            "tapes": tapes,
            "form": form,
            "bulk": bulk,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tapes/tape/moderate.html", context)

    def moderate_selected(
        self, request: HttpRequest, queryset: QuerySet[Tape], moderation: Moderation
    ) -> TemplateResponse | None:
        tapes = list(queryset.select_related("user", "federation")[: BULK_LIMIT + 1])
        if len(tapes) > BULK_LIMIT:
            self.message_user(
                request,
                f"At most {BULK_LIMIT} tapes at a time: select fewer or narrow the filters.",
                level="error",
            )
            return None
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            actor = request.user
            assert isinstance(actor, User)
            outcome = run_moderation(
                moderation, tapes, actor=actor, reason=form.cleaned_data["reason"]
            )
            report(request, moderation, outcome)
            return None
        return self._render_reason_form(request, moderation, tapes, form, bulk=True)

    def moderate_one(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        moderation = MODERATIONS.get(name)
        if moderation is None or not getattr(self, f"has_{moderation.permission}_permission")(
            request
        ):
            return HttpResponse("You may not do this.", status=403)
        tape = get_object_or_404(Tape.objects.select_related("user", "federation"), pk=object_id)
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            actor = request.user
            assert isinstance(actor, User)
            outcome = run_moderation(
                moderation, [tape], actor=actor, reason=form.cleaned_data["reason"]
            )
            report(request, moderation, outcome)
            return HttpResponseRedirect(reverse("admin:tapes_tape_change", args=[tape.pk]))
        return self._render_reason_form(request, moderation, [tape], form, bulk=False)
