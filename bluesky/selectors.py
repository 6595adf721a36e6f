"""Reads of the bluesky app's posts and preferences (the feed's are in ``feed_selectors``)."""

from __future__ import annotations

from typing import Any

from bluesky.errors import VIDEO_CODES, public_message
from bluesky.models import BlueskyEmbed, BlueskyPost, BlueskyPostState, BlueskyPreferences
from bluesky.records import post_web_url
from tapes.models import Tape


def tape_bluesky_post(tape: Tape) -> BlueskyPost | None:
    """The tape's post row (joined in when the query selected it), or None."""
    try:
        return tape.bluesky_post
    except BlueskyPost.DoesNotExist:
        return None


def bluesky_post_summary(post: BlueskyPost | None) -> dict[str, Any]:
    """What the tape page, /me and the API show of a post.

    ``state``: ``none`` (not on Bluesky), ``pending`` (posting), ``deleting``, ``done`` or
    ``failed``. ``fallback``: posted as a link card, with ``code``/``message`` saying why the
    video was not used. ``message`` is the code's fixed text, never the stored detail."""
    if post is None:
        return {
            "state": "none",
            "embed": None,
            "code": None,
            "message": None,
            "fallback": False,
            "uri": None,
            "url": None,
            "automatic": False,
            "progress": 0,
            "retry_at": None,
        }
    state = post.state
    if not post.wanted and state == BlueskyPostState.PENDING:
        state = "deleting"
    written = state == BlueskyPostState.DONE and bool(post.uri)
    fallback = written and post.embed == BlueskyEmbed.EXTERNAL and post.code in VIDEO_CODES
    # A pending post shows a code only while it waits to try again (or on the video service).
    shown = post.code if (state == BlueskyPostState.FAILED or fallback or post.not_before) else ""
    return {
        "state": state,
        "embed": post.embed or None if written else None,
        "code": shown or None,
        "message": public_message(shown) if shown else None,
        "fallback": fallback,
        "uri": post.uri or None if written else None,
        "url": post_web_url(post.did, post.rkey) if written else None,
        "automatic": post.automatic,
        "progress": post.progress,
        "retry_at": post.not_before if state == BlueskyPostState.PENDING else None,
    }


def tape_bluesky_summary(tape: Tape) -> dict[str, Any]:
    return bluesky_post_summary(tape_bluesky_post(tape))


def bluesky_preferences_get(*, user: Any) -> BlueskyPreferences | None:
    return BlueskyPreferences.objects.filter(user_id=user.pk).first()


def bluesky_posts_of_user(*, user: Any, limit: int = 20) -> list[BlueskyPost]:
    """The user's latest posts (any state), newest asked first, with their tapes."""
    return list(
        BlueskyPost.objects.filter(tape__user_id=user.pk, tape__nuked=False)
        .select_related("tape")
        .order_by("-requested_at", "-pk")[:limit]
    )


def bluesky_posts_failed_of_user(*, user: Any) -> list[BlueskyPost]:
    return list(
        BlueskyPost.objects.filter(
            tape__user_id=user.pk, tape__nuked=False, state=BlueskyPostState.FAILED
        )
        .select_related("tape")
        .order_by("-updated_at")
    )
