"""The admin's list of claimed tapes' moves: a failed move is visible with its reason, and staff
who may change tapes queue it again."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest
from django.test import Client

from tapes.models import RelocationState, TapeRelocation
from tapes.queueing import RELOCATE
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def test_a_failed_move_is_listed_with_its_reason_and_can_be_retried(
    client: Client,
    moderator: Any,
    staff: Any,
    user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tape = ReadyTapeFactory.create(user=user)
    TapeRelocation.objects.create(
        tape=tape,
        state=RelocationState.FAILED,
        attempts=5,
        failure_code="relocate_verify_failed",
        failure_message="The copy of line.mp4 differs.",
    )
    client.force_login(staff)  # no permission: nothing to see
    assert client.get("/admin/tapes/taperelocation/").status_code == 403

    client.force_login(moderator)
    listed = client.get("/admin/tapes/taperelocation/?state__exact=failed")
    assert listed.status_code == 200
    assert b"relocate_verify_failed" in listed.content
    relocation = TapeRelocation.objects.get(tape=tape)
    detail = client.get(f"/admin/tapes/taperelocation/{relocation.pk}/change/")
    assert b"The copy of line.mp4 differs." in detail.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/tapes/taperelocation/",
            {"action": "retry", "_selected_action": [relocation.pk]},
        )
    assert response.status_code == 302
    relocation.refresh_from_db()
    assert (relocation.state, relocation.attempts) == (RelocationState.PENDING, 0)
    assert RELOCATE.job_id(tape.pk) in django_rq.get_queue(RELOCATE.queue).job_ids
