"""Nuke, un-nuke and retry-encode as services: who may, what changes, what the audit log says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from audit.models import AuditEntry
from audit.selectors import audit_entries_for
from tapes import services
from tapes.models import Tape
from tapesite.errors import TapesiteError
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def test_the_migration_makes_the_moderators_group() -> None:
    granted = set(
        Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True)
    )
    assert granted == {"nuke_tape", "view_tape", "change_tape", "view_auditentry"}
    assert Permission.objects.filter(codename="nuke_tape", content_type__app_label="tapes").exists()


def test_a_moderator_nukes_with_a_reason(moderator: Any, user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    tape.refresh_from_db()
    assert tape.nuked and tape.nuked_at is not None
    [entry] = audit_entries_for(target=tape)
    assert (entry.actor, entry.action, entry.reason) == (moderator, "tape_nuke", "spam")
    # Nuking again changes nothing and records nothing.
    services.tape_nuke(tape=tape, actor=moderator, reason="again")
    assert audit_entries_for(target=tape).count() == 1


def test_the_owner_nukes_their_own_tape_and_it_is_audited(user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    services.tape_nuke(tape=tape, actor=user)
    assert Tape.objects.get(pk=tape.pk).nuked
    assert audit_entries_for(target=tape).get().actor == user


@pytest.mark.parametrize("who", ["other_user", "staff"])
def test_strangers_and_staff_without_the_permission_cannot_nuke(
    who: str, request: pytest.FixtureRequest, user: Any
) -> None:
    actor = request.getfixturevalue(who)
    for tape in (ReadyTapeFactory.create(user=user), ReadyTapeFactory.create()):
        with pytest.raises(TapesiteError) as refused:
            services.tape_nuke(tape=tape, actor=actor, reason="x")
        assert (refused.value.code, refused.value.status) == ("forbidden", 403)
        assert not Tape.objects.get(pk=tape.pk).nuked
    assert not AuditEntry.objects.exists()


def test_the_permission_alone_is_not_enough_without_staff(django_user_model: Any) -> None:
    holder = django_user_model.objects.create_user(username="nostaff")
    holder.user_permissions.add(Permission.objects.get(codename="nuke_tape"))
    with pytest.raises(TapesiteError):
        services.tape_nuke(tape=ReadyTapeFactory.create(), actor=holder)


def test_unnuke_is_for_moderators_only(moderator: Any, user: Any, staff: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    for actor in (user, staff):  # not even the owner undoes a moderator's nuke
        with pytest.raises(TapesiteError) as refused:
            services.tape_unnuke(tape=tape, actor=actor, reason="mine")
        assert refused.value.code == "forbidden"
    services.tape_unnuke(tape=tape, actor=moderator, reason="appeal upheld")
    tape.refresh_from_db()
    assert not tape.nuked and tape.nuked_at is None
    actions = [(e.action, e.reason) for e in audit_entries_for(target=tape)]
    assert actions == [("tape_unnuke", "appeal upheld"), ("tape_nuke", "spam")]


def test_a_purged_tape_cannot_be_unnuked(moderator: Any) -> None:
    from django.utils import timezone

    tape = ReadyTapeFactory.create(nuke=40)
    Tape.objects.filter(pk=tape.pk).update(files_purged_at=timezone.now())
    with pytest.raises(TapesiteError) as refused:
        services.tape_unnuke(tape=tape, actor=moderator, reason="too late")
    assert (refused.value.code, refused.value.status) == ("tape_purged", 409)
    assert Tape.objects.get(pk=tape.pk).nuked


def test_nuke_by_owner_or_moderator_only(
    user: Any, other_user: Any, staff: Any, moderator: Any
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    guest_tape = ReadyTapeFactory.create()
    for actor, target in ((other_user, tape), (user, guest_tape), (staff, guest_tape)):
        with pytest.raises(TapesiteError) as caught:
            services.tape_nuke(tape=target, actor=actor)
        assert (caught.value.code, caught.value.status) == ("forbidden", 403)
    assert not Tape.objects.filter(nuked=True).exists()
    services.tape_nuke(tape=tape, actor=user)
    services.tape_nuke(tape=guest_tape, actor=moderator)
    nuked = Tape.objects.filter(nuked=True, nuked_at__isnull=False)
    assert set(nuked) == {tape, guest_tape}  # soft: the rows stay


# --- the owner's undo, and guests ------------------------------------------------------------


def test_the_owner_undoes_their_delete_within_the_window(user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    services.tape_nuke(tape=tape, actor=user)
    nuked = Tape.objects.get(pk=tape.pk)
    assert nuked.nuked_by_owner
    deadline = services.undo_deadline(nuked)
    assert deadline is not None and nuked.nuked_at is not None
    assert (deadline - nuked.nuked_at).total_seconds() >= 600
    services.tape_restore(tape=nuked, actor=user)
    restored = Tape.objects.get(pk=tape.pk)
    assert not restored.nuked and not restored.nuked_by_owner
    actions = [entry.action for entry in audit_entries_for(target=tape).order_by("pk")]
    assert actions == ["tape_nuke", "tape_unnuke"]


def test_the_undo_expires(user: Any, settings: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    services.tape_nuke(tape=tape, actor=user)
    Tape.objects.filter(pk=tape.pk).update(
        nuked_at=timezone.now() - timedelta(seconds=settings.TAPES_OWNER_UNDO_SECONDS + 1)
    )
    with pytest.raises(TapesiteError) as refused:
        services.tape_restore(tape=Tape.objects.get(pk=tape.pk), actor=user)
    assert (refused.value.code, refused.value.status) == ("restore_expired", 409)
    assert Tape.objects.get(pk=tape.pk).nuked


def test_an_owner_cannot_undo_a_moderators_nuke(user: Any, moderator: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    with pytest.raises(TapesiteError) as refused:
        services.tape_restore(tape=Tape.objects.get(pk=tape.pk), actor=user)
    assert (refused.value.code, refused.value.status) == ("restore_not_yours", 403)
    # A moderator restores at any time.
    services.tape_restore(tape=Tape.objects.get(pk=tape.pk), actor=moderator)
    assert not Tape.objects.get(pk=tape.pk).nuked


def test_a_guest_deletes_and_restores_with_the_claim_token(other_user: Any) -> None:
    tape = ReadyTapeFactory.create(user=None)
    token = services.claim_token_issue(tape=tape)
    other = ReadyTapeFactory.create(user=None)
    services.claim_token_issue(tape=other)
    with pytest.raises(TapesiteError) as wrong:
        services.tape_delete_as_guest(tape=other, claim_token=token)
    assert (wrong.value.code, wrong.value.status) == ("claim_token_invalid", 403)
    services.tape_delete_as_guest(tape=tape, claim_token=token)
    nuked = Tape.objects.get(pk=tape.pk)
    assert nuked.nuked and nuked.nuked_by_owner
    assert audit_entries_for(target=tape).get().details == {"by": "guest"}
    services.tape_restore_as_guest(tape=nuked, claim_token=token)
    assert not Tape.objects.get(pk=tape.pk).nuked
    # Once claimed, the tape is its owner's: the guest's token deletes nothing.
    services.tapes_claim(user=other_user, tokens=[token])
    with pytest.raises(TapesiteError):
        services.tape_delete_as_guest(tape=Tape.objects.get(pk=tape.pk), claim_token=token)
    assert not Tape.objects.get(pk=tape.pk).nuked
