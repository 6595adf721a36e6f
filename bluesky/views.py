"""The Bluesky forms of the tape page and /me (they work without scripts; the tape page's
script uses the API instead and keeps the box up to date)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import User
from bluesky import services
from tapes.models import Tape
from tapes.selectors import tape_get_of_owner
from tapesite.errors import TapesiteError


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) or not target.startswith("/"):
        target = reverse("accounts:me")
    return redirect(target)


def _own_tape(request: HttpRequest, code: str) -> tuple[User, Tape]:
    user = request.user
    assert isinstance(user, User)  # login_required
    tape = tape_get_of_owner(user=user, code=code)
    if tape is None:
        raise Http404("No such tape of yours")
    return user, tape


@login_required
@require_POST
def tape_post(request: HttpRequest, code: str) -> HttpResponse:
    user, tape = _own_tape(request, code)
    try:
        services.bluesky_post_request(tape=tape, actor=user)
    except TapesiteError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"!{tape.code} is on its way to Bluesky.")
    return _back(request)


@login_required
@require_POST
def tape_post_delete(request: HttpRequest, code: str) -> HttpResponse:
    user, tape = _own_tape(request, code)
    try:
        services.bluesky_post_withdraw(tape=tape, actor=user)
    except TapesiteError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The Bluesky post of !{tape.code} is being deleted.")
    return _back(request)


@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    chosen = request.POST.get("post_new_tapes") in ("on", "1", "true")
    services.bluesky_preferences_set(user=user, post_new_tapes=chosen)
    messages.success(
        request,
        "Your new public tapes will be posted to Bluesky once their video is ready."
        if chosen
        else "New tapes are no longer posted to Bluesky on their own.",
    )
    return redirect("accounts:me")
