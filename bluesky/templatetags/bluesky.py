"""``{% bluesky_tape_box tape_id %}`` (the owner's "Post to Bluesky" box on the tape page),
``{% bluesky_me_box %}`` (/me's choice and failures) and ``{% bluesky_state tape %}`` (a line
on /me's tape cards): rendered by the bluesky app, so the pages need not know its rows."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from bluesky import selectors
from bluesky.errors import public_message
from bluesky.services.common import owner_account
from tapes.models import Tape, TapeStatus, TapeVisibility

register = template.Library()


@register.inclusion_tag("bluesky/_tape_box.html", takes_context=True)
def bluesky_tape_box(context: template.Context, code: str) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    tape = (
        Tape.objects.visible().filter(code=code, user_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if tape is None:
        return {"shown": False}
    blocked = ""
    if owner_account(tape) is None:
        blocked = "bluesky_not_linked"
    elif tape.visibility != TapeVisibility.PUBLIC:
        blocked = "bluesky_tape_not_public"
    elif tape.status != TapeStatus.READY:
        blocked = "bluesky_tape_not_ready"
    post = selectors.tape_bluesky_summary(tape)
    return {
        "shown": True,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "code": tape.code,
        "post": post,
        # A post already there (or failing) is shown and may be deleted whatever changed since.
        "blocked": blocked if post["state"] == "none" else "",
        "blocked_words": public_message(blocked) if blocked else "",
        "api_url": reverse("bluesky:tape-post", kwargs={"code": tape.code}),
        "next": request.get_full_path(),
    }


@register.inclusion_tag("bluesky/_me_box.html", takes_context=True)
def bluesky_me_box(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    prefs = selectors.bluesky_preferences_get(user=user)
    failed = [
        {"tape": post.tape, "post": selectors.bluesky_post_summary(post)}
        for post in selectors.bluesky_posts_failed_of_user(user=user)
    ]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "post_new_tapes": bool(prefs and prefs.post_new_tapes),
        "failed": failed,
        "next": request.get_full_path(),
    }


@register.inclusion_tag("bluesky/_tape_state.html")
def bluesky_state(tape: Tape) -> dict[str, Any]:
    return {"post": selectors.tape_bluesky_summary(tape)}
