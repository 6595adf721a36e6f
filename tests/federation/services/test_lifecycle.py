"""When a tape federates (federation/services/lifecycle.py), against the real reference PDS:
started for a linked owner's ready tape (a claimed guest tape too), withdrawn by a nuke and
started afresh by an un-nuke (through the services and the admin, the federate job timed in
/metrics), retried from the admin, and found again by reconcile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit.selectors import audit_entries_for
from federation.jobs import federate_tape
from federation.models import FederationState, TapeFederation
from federation.queueing import FEDERATE
from federation.services import tape_federate, tape_federation_start, tapes_federation_reconcile
from tapes.models import Tape
from tapes.services import claim_token_issue, tape_nuke, tape_unnuke, tapes_claim
from tapes.storage import storage_for
from tests.conftest import audit_trail
from tests.federation.conftest import COLLECTION, at_of, federate
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db

LIST = "/admin/tapes/tape/"
TOKEN = "scrape-me-" + "y" * 20


def act(client: Any, action: str, tapes: list[Tape], reason: str) -> Any:
    return client.post(
        LIST,
        {
            "action": action,
            "_selected_action": [t.pk for t in tapes],
            "apply": "1",
            "reason": reason,
        },
        follow=True,
    )


def federate_count(client: Any, operation: str, outcome: str) -> float:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if (
                sample.name == "tapesite_federation_duration_seconds_count"
                and sample.labels.get("operation") == operation
                and sample.labels.get("outcome") == outcome
            ):
                return float(sample.value)
    return 0.0


def test_guests_and_unlinked_users_are_not_federated(
    user: Any, ready_tape: Callable[..., Tape]
) -> None:
    assert tape_federation_start(tape=ready_tape(None)) is None
    assert tape_federation_start(tape=ready_tape(user)) is None
    assert not TapeFederation.objects.exists()


def test_a_claimed_guest_tape_federates_to_its_new_owners_pds(
    ready_tape: Callable[..., Tape],
    link: Callable[..., Any],
    user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tape = ready_tape(None)
    storage_for(tape.bucket).save(tape.zip_key, ContentFile(b"the guest's zip"))
    token = claim_token_issue(tape=tape)
    assert not TapeFederation.objects.filter(tape=tape).exists()  # guests never federate
    _account, remote = link(user)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = tapes_claim(user=user, tokens=[token])

    assert [outcome.code for outcome in outcomes] == [tape.code]
    fed = TapeFederation.objects.get(tape=tape)
    assert fed.state == FederationState.PENDING
    tape_federate(tape_id=tape.pk)
    fed.refresh_from_db()
    tape.refresh_from_db()
    assert fed.state == FederationState.DONE, (fed.code, fed.message)
    assert at_of(tape)["uri"].startswith(f"at://{remote.did}/")


def test_nuke_removes_the_record_and_unnuke_brings_one_back_under_a_fresh_rkey(
    user: Any,
    moderator: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    federate(tape)
    tape.refresh_from_db()
    first = at_of(tape)["rkey"]

    with django_capture_on_commit_callbacks(execute=True):
        tape_nuke(tape=tape, actor=user, reason="mine")
    assert tape_federate(tape_id=tape.pk).state == FederationState.NONE
    assert pds.list_records(remote.did, COLLECTION) == []
    assert pds.get_record(remote.did, COLLECTION, first).status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        tape_unnuke(tape=tape, actor=moderator, reason="appeal")
    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE
    records = pds.list_records(remote.did, COLLECTION)
    assert len(records) == 1
    tape.refresh_from_db()
    assert at_of(tape)["rkey"] != first
    assert records[0]["uri"] == at_of(tape)["uri"]


def test_admin_nuke_deletes_the_record_on_the_pds_and_unnuke_restores_one(
    client: Any,
    api: Any,
    moderator: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TAPES_METRICS_TOKEN = TOKEN
    _account, remote = link(user)
    tape = ready_tape(user)
    with django_capture_on_commit_callbacks(execute=True):
        tape_federation_start(tape=tape)
    writes = federate_count(client, "write", "done")
    federate_tape(tape.pk)
    assert federate_count(client, "write", "done") == writes + 1
    tape.refresh_from_db()
    first = at_of(tape)["rkey"]
    assert [r["uri"] for r in pds.list_records(remote.did, COLLECTION)] == [at_of(tape)["uri"]]

    client.force_login(moderator)
    listed = client.get(LIST).content.decode()
    assert '<td class="field-federation_state">done</td>' in listed
    detail = client.get(f"{LIST}{tape.pk}/change/").content.decode()
    assert f"/xrpc/com.atproto.repo.getRecord?repo={remote.did.replace(':', '%3A')}" in detail

    deletes = federate_count(client, "delete", "none")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "nuke", [tape], "impersonation")
    federate_tape(tape.pk)  # the delete job the nuke enqueued
    assert federate_count(client, "delete", "none") == deletes + 1
    assert pds.list_records(remote.did, COLLECTION) == []
    assert pds.get_record(remote.did, COLLECTION, first).status_code == 400
    assert api.get(f"/api/tapes/{tape.code}").status_code == 404
    entry = audit_entries_for(target=tape).get()
    assert (entry.actor, entry.action, entry.reason) == (moderator, "tape_nuke", "impersonation")

    with django_capture_on_commit_callbacks(execute=True):
        act(client, "unnuke", [tape], "appeal upheld")
    federate_tape(tape.pk)
    records = pds.list_records(remote.did, COLLECTION)
    tape.refresh_from_db()
    assert len(records) == 1 and records[0]["uri"] == at_of(tape)["uri"]
    assert at_of(tape)["rkey"] != first
    got = pds.get_record(remote.did, COLLECTION, at_of(tape)["rkey"])
    assert got.status_code == 200 and got.json()["value"]["code"] == tape.code


def test_retry_federation_action_enqueues_the_federate_job(
    client: Any,
    moderator: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    django_capture_on_commit_callbacks: Any,
) -> None:
    link(user)
    tape = ready_tape(user)
    TapeFederation.objects.create(
        tape=tape, state=FederationState.FAILED, code="pds_unreachable", message="down"
    )
    client.force_login(moderator)
    assert b'field-federation_state">failed' in client.get(f"{LIST}?federation=failed").content
    with django_capture_on_commit_callbacks(execute=True):
        done = act(client, "retry_federation", [tape], "PDS is back")
    assert b"1 queued for federation" in done.content
    job_ids = django_rq.get_queue(FEDERATE.queue).job_ids
    assert FEDERATE.job_id(tape.pk) in job_ids
    assert TapeFederation.objects.get(tape=tape).state == FederationState.PENDING
    details = {"state": "failed", "code": "pds_unreachable"}
    assert audit_trail(tape) == [(moderator, "tape_retry_federation", "PDS is back", details)]


def test_retry_federation_is_refused_for_a_guest_tape_and_staff_without_permission(
    client: Any, moderator: Any, staff: Any, ready_tape: Callable[..., Tape]
) -> None:
    guest = ready_tape(None)
    client.force_login(moderator)
    refused = act(client, "retry_federation", [guest], "try")
    assert b"Retry federation refused" in refused.content
    assert not audit_entries_for(target=guest).exists()
    client.force_login(staff)
    page = client.get(f"{LIST}{guest.pk}/moderate/retry_federation/")
    assert page.status_code == 403


def test_reconcile_starts_unstarted_and_requeues_stuck_federations(
    user: Any, link: Any, ready_tape: Callable[..., Tape], django_capture_on_commit_callbacks: Any
) -> None:
    link(user)
    unstarted = ready_tape(user)
    stuck = ready_tape(user)
    tape_federation_start(tape=stuck)
    TapeFederation.objects.filter(tape=stuck).update(updated_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        report = tapes_federation_reconcile()
    assert report.started == [unstarted.pk]
    assert report.requeued == [stuck.pk]
    queued = django_rq.get_queue(FEDERATE.queue).job_ids
    assert f"tape-federate-{unstarted.pk}" in queued
    assert f"tape-federate-{stuck.pk}" in queued
    # Nothing to do the second time round.
    again = tapes_federation_reconcile()
    assert (again.started, again.requeued) == ([], [])
