"""How Bluesky posts react to what happens to a tape (``tapes.events``), connected in
``BlueskyConfig.ready()``. The tapes app never imports this module.

An un-nuke (``tape_unnuked``) has no reaction on purpose: the post went with the nuke, and it is
for the owner to post the tape again."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bluesky.services.lifecycle import (
    bluesky_post_on_nuke,
    bluesky_post_on_ready,
    bluesky_post_on_visibility,
    bluesky_posts_on_deleting,
    bluesky_posts_reconcile,
)
from tapes import events
from tapes.models import Tape
from tapes.services import reconciler_register


def on_ready(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    # "Post every new tape": once its video is ready, if it is public.
    bluesky_post_on_ready(tape=tape)


def on_nuked(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    # Deleted by its owner or nuked by a moderator: the post would still advertise it.
    bluesky_post_on_nuke(tape=tape)


def on_visibility_changed(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    bluesky_post_on_visibility(tape=tape)


def on_deleting(sender: type[Tape], *, tape_ids: list[int], **kwargs: Any) -> None:
    bluesky_posts_on_deleting(tape_ids=tape_ids)


def reconcile() -> dict[str, list[int]]:
    return asdict(bluesky_posts_reconcile())


def connect() -> None:
    for signal, receiver in (
        (events.tape_ready, on_ready),
        (events.tape_nuked, on_nuked),
        (events.tape_visibility_changed, on_visibility_changed),
        (events.tapes_deleting, on_deleting),
    ):
        signal.connect(receiver, sender=Tape, dispatch_uid=f"bluesky.{receiver.__name__}")
    reconciler_register("bluesky", reconcile)
