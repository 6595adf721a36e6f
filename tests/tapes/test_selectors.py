"""The reads, called directly: what is public (never a nuked tape), in which order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tapes import selectors
from tapes.models import TapeStatus
from tests.tapes.factories import TapeFactory

pytestmark = pytest.mark.django_db


def test_list_is_newest_first_without_nuked_tapes(user: Any) -> None:
    now = timezone.now()
    old = TapeFactory.create(when=now - timedelta(hours=1))
    new = TapeFactory.create(when=now, user=user)
    TapeFactory.create(when=now + timedelta(hours=1), nuked=True)
    assert list(selectors.tape_list()) == [new, old]


def test_list_by_owner(user: Any, other_user: Any) -> None:
    mine = TapeFactory.create(user=user)
    TapeFactory.create(user=other_user)
    TapeFactory.create()  # a guest's
    assert list(selectors.tape_list(owner=user.username)) == [mine]
    assert list(selectors.tape_list(owner="nobody")) == []


def test_get_is_exact_and_hides_nuked_tapes() -> None:
    tape = TapeFactory.create(code="aBc")
    TapeFactory.create(code="gone", nuked=True)
    assert selectors.tape_get(code="aBc") == tape
    assert selectors.tape_get(code="abc") is None
    assert selectors.tape_get(code="gone") is None


def test_list_to_reencode_by_code_or_every_failed_one() -> None:
    failed = TapeFactory.create(status=TapeStatus.FAILED)
    ready = TapeFactory.create(status=TapeStatus.READY)
    TapeFactory.create(status=TapeStatus.FAILED, nuked=True)
    assert list(selectors.tape_list_to_reencode(codes=[], failed=True)) == [failed]
    chosen = selectors.tape_list_to_reencode(codes=[ready.code, "nope"], failed=False)
    assert list(chosen) == [ready]
