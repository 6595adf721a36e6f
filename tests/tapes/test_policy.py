"""tapes.policy: who may do what to a tape, the one table every door asks."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from tapes.models import Tape
from tapes.policy import TapeAction, staff_may, tape_permission_check
from tapesite.errors import TapesiteError
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db

A = TapeAction
# (actor, action) -> "owner" | "moderated" | an error code, for a tape of `user` that is not nuked.
TABLE = {
    ("user", A.VIEW): "owner",
    ("user", A.DELETE): "owner",
    ("user", A.UNNUKE): "forbidden",
    ("user", A.RETRY_ENCODE): "owner",
    ("user", A.RETRY_FEDERATION): "owner",
    ("other_user", A.VIEW): "anyone",
    ("other_user", A.DELETE): "forbidden",
    ("other_user", A.RETRY_ENCODE): "forbidden",
    ("staff", A.DELETE): "forbidden",
    ("staff", A.RETRY_ENCODE): "forbidden",
    ("staff", A.RETRY_FEDERATION): "forbidden",
    ("moderator", A.DELETE): "moderated",
    ("moderator", A.UNNUKE): "moderated",
    ("moderator", A.RETRY_ENCODE): "moderated",
    ("moderator", A.RETRY_FEDERATION): "moderated",
    ("anonymous", A.VIEW): "anyone",
    ("anonymous", A.DELETE): "not_authenticated",
    ("anonymous", A.RETRY_ENCODE): "not_authenticated",
}


def _actor(name: str, request: pytest.FixtureRequest) -> Any:
    return AnonymousUser() if name == "anonymous" else request.getfixturevalue(name)


@pytest.mark.parametrize(("who", "action"), list(TABLE), ids=lambda v: str(v))
def test_the_table(who: str, action: TapeAction, request: pytest.FixtureRequest, user: Any) -> None:
    tape: Tape = ReadyTapeFactory.create(user=user)
    expected = TABLE[(who, action)]
    actor = _actor(who, request)
    if expected in ("forbidden", "not_authenticated"):
        with pytest.raises(TapesiteError) as refused:
            tape_permission_check(actor=actor, tape=tape, action=action)
        assert refused.value.code == expected
        assert refused.value.status == (403 if expected == "forbidden" else 401)
        return
    grant = tape_permission_check(actor=actor, tape=tape, action=action)
    assert grant.as_owner == (expected == "owner")
    assert grant.moderated == (expected == "moderated")


def test_a_nuked_tape_is_seen_by_staff_who_may_view_tapes_only(
    user: Any, moderator: Any, staff: Any, other_user: Any
) -> None:
    tape: Tape = ReadyTapeFactory.create(user=user, nuke=1)
    assert tape_permission_check(actor=moderator, tape=tape, action=A.VIEW).moderated
    for actor in (staff, other_user):
        with pytest.raises(TapesiteError):
            tape_permission_check(actor=actor, tape=tape, action=A.VIEW)


def test_the_system_may_do_anything_and_is_not_a_person(user: Any) -> None:
    tape: Tape = ReadyTapeFactory.create(user=user)
    for action in TapeAction:
        grant = tape_permission_check(actor=None, tape=tape, action=action)
        assert not grant.as_owner and not grant.moderated


def test_staff_may_names_what_the_admin_offers(moderator: Any, staff: Any) -> None:
    assert all(staff_may(actor=moderator, action=action) for action in TapeAction)
    assert not any(staff_may(actor=staff, action=action) for action in TapeAction)
