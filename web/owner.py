"""The owner's pages for one tape: edit its words and visibility, delete it (after a
confirmation) and undo that. Plain forms with CSRF, so they work without scripts; the tape page
and /me link here. Who may is tapes.policy's, asked through the services."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from tapes import selectors, services
from tapes.policy import TapeAction, tape_may
from tapesite.errors import TapesiteError
from web.forms import TapeEditForm
from web.views import tape_page_response


def _back(request: HttpRequest, default: str) -> str:
    # Only a path of this site: the forms post a "next" so /me and the tape page return to
    # themselves.
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _refused(request: HttpRequest, error: TapesiteError, back: str) -> HttpResponse:
    messages.error(request, error.message, extra_tags=f"code-{error.code}")
    return redirect(back)


@login_required
@require_POST
def tape_edit(request: HttpRequest, code: str) -> HttpResponse:
    tape = selectors.tape_get(code=code)
    page = reverse("web:tape", kwargs={"code": code})
    if tape is None:
        return redirect(page)
    form = TapeEditForm(request.POST)
    if not form.is_valid():
        return tape_page_response(request, code=code, edit_form=form, status=400)
    try:
        # Only what the form sent: /me's one-click "make unlisted" sends the visibility alone.
        sent = {name: value for name, value in form.cleaned_data.items() if name in request.POST}
        services.tape_edit(tape=tape, actor=cast(User, request.user), **sent)
    except TapesiteError as exc:
        return _refused(request, exc, page)
    messages.success(request, "Saved.")
    return redirect(_back(request, page))


@login_required
@require_http_methods(["GET", "POST"])
def tape_delete(request: HttpRequest, code: str) -> HttpResponse:
    """GET asks "are you sure?"; POST deletes and offers the undo."""
    tape = selectors.tape_get(code=code)
    if tape is None:
        messages.info(request, f"!{code} is already deleted.")
        return redirect("accounts:me")
    user = cast(User, request.user)
    if not tape_may(actor=user, tape=tape, action=TapeAction.DELETE):
        return _refused(
            request,
            TapesiteError("forbidden", "Only the tape's owner can delete it.", status=403),
            reverse("web:tape", kwargs={"code": code}),
        )
    if request.method == "GET":
        context = {
            "tape": tape,
            "undo_hours": services.undo_window_words(),
            "back": _back(request, reverse("web:tape", kwargs={"code": code})),
        }
        return render(request, "web/tape_delete.html", context)
    try:
        services.tape_nuke(tape=tape, actor=user)
    except TapesiteError as exc:
        return _refused(request, exc, reverse("web:tape", kwargs={"code": code}))
    messages.success(
        request,
        f"Deleted !{code}. You can restore it from this page for {services.undo_window_words()}.",
        extra_tags=f"undo-{code}",
    )
    return redirect("accounts:me")


@login_required
@require_POST
def tape_restore(request: HttpRequest, code: str) -> HttpResponse:
    tape = selectors.tape_get_deleted(code=code)
    me = reverse("accounts:me")
    if tape is None:
        return redirect(_back(request, reverse("web:tape", kwargs={"code": code})))
    try:
        services.tape_restore(tape=tape, actor=cast(User, request.user))
    except TapesiteError as exc:
        return _refused(request, exc, me)
    messages.success(request, f"Restored !{code}: it is back where it was.")
    return redirect(_back(request, reverse("web:tape", kwargs={"code": code})))
