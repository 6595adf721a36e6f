"""Nuke, un-nuke and retry-encode as services: who may, what changes, what the audit log says."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission

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
