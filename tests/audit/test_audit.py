"""The audit log: written by services, read-only for everyone in the admin."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditAction, AuditEntry
from audit.selectors import audit_entries_for
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser(username="root", password="pw")


@pytest.fixture
def entry(staff: Any, user: Any) -> AuditEntry:
    # Any model instance can be a target; a user keeps this test independent of the tapes app.
    return audit_record(
        actor=staff, action=AuditAction.TAPE_NUKE, target=user, reason="  spam  ", details={"n": 1}
    )


def test_record_keeps_who_what_why(entry: AuditEntry, staff: Any, user: Any) -> None:
    entry.refresh_from_db()
    assert entry.actor == staff
    assert entry.actor_name == "mod"
    assert entry.action == "tape_nuke"
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(user.pk))
    assert entry.reason == "spam"
    assert entry.details == {"n": 1}
    assert list(audit_entries_for(target=user)) == [entry]
    assert list(audit_entries_for(target=staff)) == []


def test_the_entry_outlives_its_actor(entry: AuditEntry, staff: Any) -> None:
    staff.delete()
    entry.refresh_from_db()
    assert entry.actor is None
    assert entry.actor_name == "mod"


def test_system_entries_have_no_actor(user: Any) -> None:
    made = audit_record(actor=None, action=AuditAction.TAPE_PURGE, target=user)
    assert made.actor is None and made.actor_name == ""
    assert str(made).endswith(f"system tape_purge {user}")


def test_unknown_actions_are_refused(user: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        audit_record(actor=None, action="rewrite_history", target=user)  # type: ignore[arg-type]


def test_even_a_superuser_cannot_edit_the_log(
    client: Any, superuser: Any, entry: AuditEntry
) -> None:
    client.force_login(superuser)
    base = "/admin/audit/auditentry/"
    listing = client.get(base)
    assert listing.status_code == 200
    assert b"spam" in listing.content
    detail = client.get(f"{base}{entry.pk}/change/")
    assert detail.status_code == 200
    assert b'name="reason"' not in detail.content  # shown, not an input
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{entry.pk}/change/", {"reason": "nothing"}).status_code == 403
    assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        base, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.reason == "spam"
    assert AuditEntry.objects.count() == 1
