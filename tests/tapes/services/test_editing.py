"""An owner's title, description, alt text and visibility, as a service."""

from __future__ import annotations

from typing import Any

import pytest
from django.dispatch import receiver

from audit.selectors import audit_entries_for
from tapes import events, services
from tapes.models import TITLE_MAX, Tape, TapeVisibility
from tapesite.errors import TapesiteError
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def test_the_owner_edits_the_words_and_the_revision_counts_it(
    user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    heard: list[int] = []

    @receiver(events.tape_edited, sender=Tape, weak=False)
    def on_edited(sender: Any, *, tape: Tape, **kwargs: Any) -> None:
        heard.append(tape.revision)

    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.tape_edit(
                tape=tape,
                actor=user,
                title="  A  walk\tin the   park ",
                description="First line\r\n\r\n\r\n\r\nSecond\u202e line",
                alt_text="Red\x00 lines on black \U0001f469\u200d\U0001f4bb",
            )
    finally:
        events.tape_edited.disconnect(on_edited, sender=Tape)
    tape.refresh_from_db()
    assert tape.title == "A walk in the park"
    # Runs of blank lines fold to one; bidi overrides and control characters go.
    assert tape.description == "First line\n\nSecond line"
    assert tape.alt_text == "Red lines on black \U0001f469\u200d\U0001f4bb"
    assert (tape.revision, heard) == (1, [1])
    assert tape.edited_at is not None
    # An owner's own edit is theirs, not moderation: nothing in the audit log.
    assert not audit_entries_for(target=tape).exists()


def test_the_same_words_again_change_nothing(user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user, title="Same")
    services.tape_edit(tape=tape, actor=user, title="Same ", description=None)
    assert Tape.objects.get(pk=tape.pk).revision == 0


def test_visibility_is_sent_inside_the_transaction(user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    seen: list[str] = []

    @receiver(events.tape_visibility_changed, sender=Tape, weak=False)
    def on_changed(sender: Any, *, tape: Tape, **kwargs: Any) -> None:
        seen.append(Tape.objects.get(pk=tape.pk).visibility)

    try:
        services.tape_edit(tape=tape, actor=user, visibility="unlisted")
        services.tape_edit(tape=tape, actor=user, visibility="unlisted")
        services.tape_edit(tape=tape, actor=user, visibility="public")
    finally:
        events.tape_visibility_changed.disconnect(on_changed, sender=Tape)
    # Seen from inside: the row already says so when a receiver reads it.
    assert seen == ["unlisted", "public"]
    # Visibility is not the record's words: the revision stays.
    assert Tape.objects.get(pk=tape.pk).revision == 0


def test_bad_input_is_refused_with_the_field(user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    with pytest.raises(TapesiteError) as long_title:
        services.tape_edit(tape=tape, actor=user, title="x" * (TITLE_MAX + 1))
    assert long_title.value.code == "invalid_input"
    assert "title" in (long_title.value.details or {})
    with pytest.raises(TapesiteError) as bad_visibility:
        services.tape_edit(tape=tape, actor=user, visibility="secret")
    assert bad_visibility.value.code == "invalid_input"
    assert Tape.objects.get(pk=tape.pk).title == ""


def test_strangers_cannot_edit_and_staff_edits_are_audited(
    user: Any, other_user: Any, moderator: Any
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    with pytest.raises(TapesiteError) as refused:
        services.tape_edit(tape=tape, actor=other_user, title="Mine now")
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    services.tape_edit(tape=tape, actor=moderator, title="", visibility="unlisted", reason="spam")
    [entry] = audit_entries_for(target=tape)
    assert (entry.action, entry.reason) == ("tape_edit", "spam")
    assert entry.details["after"] == {"visibility": "unlisted"}


def test_a_deleted_tape_cannot_be_edited(user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    services.tape_nuke(tape=tape, actor=user)
    with pytest.raises(TapesiteError) as refused:
        services.tape_edit(tape=tape, actor=user, title="Too late")
    assert (refused.value.code, refused.value.status) == ("tape_deleted", 409)
    assert Tape.objects.get(pk=tape.pk).visibility == TapeVisibility.PUBLIC
