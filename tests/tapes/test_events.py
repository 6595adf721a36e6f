"""Tape events: reactions inside the transaction commit or roll back with the change; reactions
after commit cannot undo it, and one that fails does not stop the others."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from audit.models import AuditEntry
from tapes import events, services
from tapes.models import Tape
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected() -> Iterator[Any]:
    """``connected(signal, receiver)``, disconnected again after the test."""
    made: list[tuple[Any, Any]] = []

    def connect(signal: Any, receiver: Any) -> None:
        signal.connect(receiver, sender=Tape, weak=False)
        made.append((signal, receiver))

    yield connect
    for signal, receiver in made:
        signal.disconnect(receiver, sender=Tape)


def test_a_failing_reaction_inside_the_nuke_undoes_the_nuke(moderator: Any, connected: Any) -> None:
    tape = ReadyTapeFactory.create()

    def refuse(sender: Any, *, tape: Tape, **kwargs: Any) -> None:
        raise RuntimeError("the reaction could not withdraw what it published")

    connected(events.tape_nuked, refuse)
    with pytest.raises(RuntimeError):
        services.tape_nuke(tape=Tape.objects.get(pk=tape.pk), actor=moderator, reason="spam")
    assert not Tape.objects.get(pk=tape.pk).nuked
    assert not AuditEntry.objects.exists()


def test_nuke_and_unnuke_reactions_see_the_locked_row(moderator: Any, connected: Any) -> None:
    tape = ReadyTapeFactory.create()
    seen: list[tuple[str, bool]] = []

    def record(name: str) -> Any:
        def receiver(sender: Any, *, tape: Tape, **kwargs: Any) -> None:
            seen.append((name, Tape.objects.get(pk=tape.pk).nuked))

        return receiver

    connected(events.tape_nuked, record("nuked"))
    connected(events.tape_unnuked, record("unnuked"))
    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    services.tape_nuke(tape=tape, actor=moderator, reason="again")  # already nuked: no event
    services.tape_unnuke(tape=tape, actor=moderator, reason="appeal")
    assert seen == [("nuked", True), ("unnuked", False)]


def test_after_commit_a_failing_reaction_is_logged_and_the_others_still_run(
    connected: Any, django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    tape = ReadyTapeFactory.create()
    heard: list[int] = []

    def broken(sender: Any, *, tape: Tape, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    def working(sender: Any, *, tape: Tape, **kwargs: Any) -> None:
        heard.append(tape.pk)

    connected(events.tape_ready, broken)
    connected(events.tape_ready, working)
    with django_capture_on_commit_callbacks() as callbacks:
        events.send_after_commit(events.tape_ready, tape=tape)
        assert heard == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert heard == [tape.pk]
    assert "a reaction to a tape event failed" in caplog.text and "broken" in caplog.text


def test_deleting_a_users_tapes_announces_them_before_the_rows_go(
    user: Any, connected: Any
) -> None:
    mine = [ReadyTapeFactory.create(user=user) for _ in range(2)]
    still_there: list[int] = []

    def receiver(sender: Any, *, tape_ids: list[int], **kwargs: Any) -> None:
        still_there.extend(Tape.objects.filter(pk__in=tape_ids).values_list("pk", flat=True))

    connected(events.tapes_deleting, receiver)
    assert services.tapes_delete_for_user(user=user) == 2
    assert sorted(still_there) == sorted(tape.pk for tape in mine)
    assert not Tape.objects.filter(user=user).exists()
