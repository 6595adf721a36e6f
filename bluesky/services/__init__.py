"""Writes of the bluesky app, by concern: ``lifecycle`` (asked for, taken back, reactions to
the tape, reconcile), ``run`` (the posting job's work), ``common``. Public names here."""

from bluesky.services.common import Outcome
from bluesky.services.lifecycle import (
    bluesky_post_on_nuke,
    bluesky_post_on_ready,
    bluesky_post_on_visibility,
    bluesky_post_request,
    bluesky_post_withdraw,
    bluesky_posts_on_deleting,
    bluesky_posts_reconcile,
    bluesky_preferences_set,
)
from bluesky.services.run import bluesky_post_run, card_thumbnail

__all__ = [
    "Outcome",
    "bluesky_post_on_nuke",
    "bluesky_post_on_ready",
    "bluesky_post_on_visibility",
    "bluesky_post_request",
    "bluesky_post_run",
    "bluesky_post_withdraw",
    "bluesky_posts_on_deleting",
    "bluesky_posts_reconcile",
    "bluesky_preferences_set",
    "card_thumbnail",
]
