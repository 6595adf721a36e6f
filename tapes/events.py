"""What happens to a tape that other apps may react to: the one list of tape events.

The tapes app is the core: it sends these and never imports the apps that react (federation today;
Bluesky posts, embeds and feeds later). An app connects its receivers in its ``AppConfig.ready()``
(see ``federation.reactions``); ``docs/architecture.md`` lists who reacts to what.

Two kinds, by when they are sent:

- **inside the transaction** of the change (``tape_nuked``, ``tape_unnuked``,
  ``tape_visibility_changed``, ``tapes_deleting``):
  the tape row is locked, a receiver's writes commit or roll back with the change, and a receiver
  that raises undoes the change. Federation's guard against a federate run overlapping a nuke
  depends on seeing the nuke under the same lock.
- **after commit** (``tape_ready``, ``tape_claimed``, ``tape_edited``): the change is durable
  whatever a receiver does. A receiver that fails is logged and skipped (the others still run);
  the reconcilers that apps register (``tapes.services.reconcile``) catch up on what it missed.

Every event is sent with ``sender=Tape``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from tapes.models import Tape

logger = logging.getLogger(__name__)

# After commit: the tape's video and files are stored and it is ``ready``. kwargs: tape.
tape_ready = Signal()
# Inside the nuke's transaction, the row locked: the tape is gone from every public read, so
# whatever a reaction made public elsewhere should go too. kwargs: tape.
tape_nuked = Signal()
# Inside the un-nuke's transaction, the row locked: the tape is public again. kwargs: tape.
tape_unnuked = Signal()
# After commit: a guest's tape became a signed-in user's. kwargs: tape, user.
tape_claimed = Signal()
# After commit: its owner changed the tape's title, description or alt text (``tape.revision``
# went up), so copies elsewhere (its AT Protocol record) should say the same. kwargs: tape.
tape_edited = Signal()
# Inside the transaction that changed it, the row locked: the tape went from public to unlisted
# or back (``tape.visibility`` is the new one). Unlisted, it should leave every listing elsewhere,
# as a nuked tape does; public again, it may be listed again. kwargs: tape.
tape_visibility_changed = Signal()
# Inside the transaction that deletes a user's tapes, before their rows go (a reaction can still
# read its own rows; the files in storage are already deleted). kwargs: tape_ids.
tapes_deleting = Signal()


def send_after_commit(signal: Signal, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits (at once outside one)."""

    def send() -> None:
        for receiver, result in signal.send_robust(sender=Tape, **kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "a reaction to a tape event failed: %s",
                    getattr(receiver, "__qualname__", receiver),
                    exc_info=result,
                )

    transaction.on_commit(send)
