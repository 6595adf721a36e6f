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
from federation.services import (
    tape_federate,
    tape_federation_delete_abandon,
    tape_federation_delete_retry,
    tape_federation_start,
    tapes_federation_reconcile,
)
from tapes.models import Tape
from tapes.services import claim_token_issue, tape_nuke, tape_unnuke, tapes_claim
from tapes.storage import storage_for
from tapesite.errors import TapesiteError
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


def metric(client: Any, name: str, **labels: str) -> float:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"{name} {labels} not in /metrics")


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


def given_up_delete(
    user: Any, link: Any, ready_tape: Callable[..., Tape], own: Pds, settings: Any
) -> tuple[Tape, str, Any]:
    """A federated tape, nuked while its PDS is down, whose delete gave up."""
    settings.ATPROTO_DELETE_MAX_ATTEMPTS = 2
    _account, remote = link(user, own)
    tape = ready_tape(user)
    federate(tape)
    rkey = TapeFederation.objects.get(tape=tape).rkey
    own.stop()
    tape_nuke(tape=tape, actor=user)
    tape_federate(tape_id=tape.pk)
    assert tape_federate(tape_id=tape.pk).code == "record_delete_failed"
    tape.refresh_from_db()
    return tape, rkey, remote


def test_a_given_up_delete_is_shown_to_staff_and_retried_from_the_admin(
    client: Any,
    moderator: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds_factory: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TAPES_METRICS_TOKEN = TOKEN
    own = pds_factory()
    tape, rkey, remote = given_up_delete(user, link, ready_tape, own, settings)
    failing = {"code": "record_delete_failed", "operation": "delete"}
    assert metric(client, "tapesite_federation_failed", **failing) == 1

    client.force_login(moderator)
    listed = client.get(f"{LIST}?federation=record_delete_failed").content.decode()
    assert f"!{tape.code}" in listed or f">{tape.code}<" in listed
    assert "failed (record_delete_failed)" in listed
    detail = client.get(f"{LIST}{tape.pk}/change/").content.decode()
    assert rkey in detail and "pds_unreachable" in detail

    own.start()
    with django_capture_on_commit_callbacks(execute=True):
        done = act(client, "retry_record_delete", [tape], "PDS is back")
    assert b"1 queued for deleting their record" in done.content
    assert FEDERATE.job_id(tape.pk) in django_rq.get_queue(FEDERATE.queue).job_ids
    fed = TapeFederation.objects.get(tape=tape)
    assert (fed.state, fed.code, fed.attempts) == (FederationState.PENDING, "", 0)
    details = {"state": "failed", "code": "record_delete_failed", "operation": "delete"}
    assert (moderator, "tape_retry_federation", "PDS is back", details) in audit_trail(tape)
    federate_tape(tape.pk)  # the job the action queued
    fed.refresh_from_db()
    assert (fed.state, fed.stale_rkeys) == (FederationState.NONE, [])
    assert own.list_records(remote.did, COLLECTION) == []
    assert metric(client, "tapesite_federation_failed", **failing) == 0


def test_staff_abandon_a_delete_from_the_admin_and_the_record_stays(
    client: Any,
    moderator: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds_factory: Any,
    settings: Any,
) -> None:
    settings.TAPES_METRICS_TOKEN = TOKEN
    own = pds_factory()
    tape, rkey, remote = given_up_delete(user, link, ready_tape, own, settings)
    client.force_login(moderator)
    done = act(client, "abandon_record_delete", [tape], "the PDS is gone for good")
    assert b"1 left on their PDS" in done.content
    fed = TapeFederation.objects.get(tape=tape)
    assert (fed.state, fed.code, fed.stale_rkeys, fed.abandoned_rkeys) == (
        FederationState.NONE,
        "record_delete_abandoned",
        [],
        [rkey],
    )
    entry = audit_entries_for(target=tape).filter(action="tape_abandon_record_delete").get()
    assert (entry.actor, entry.reason) == (moderator, "the PDS is gone for good")
    assert entry.details["rkeys"] == [rkey] and entry.details["code"] == "record_delete_failed"
    assert metric(client, "tapesite_federation_deletes_abandoned") == 1
    assert client.get(f"{LIST}?federation=record_delete_abandoned").content.count(
        b"record_delete_abandoned"
    )
    # Nothing tries again: the record stays on the PDS, as recorded.
    assert tapes_federation_reconcile().requeued == []
    own.start()
    assert len(own.list_records(remote.did, COLLECTION)) == 1


def test_abandoning_a_delete_is_for_staff_only_and_only_for_a_delete_that_waits(
    user: Any,
    moderator: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds_factory: Any,
    settings: Any,
) -> None:
    own = pds_factory()
    tape, _rkey, _remote = given_up_delete(user, link, ready_tape, own, settings)
    with pytest.raises(TapesiteError) as refused:
        tape_federation_delete_abandon(tape=tape, actor=user, reason="mine")
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    with pytest.raises(TapesiteError) as no_reason:
        tape_federation_delete_abandon(tape=tape, actor=moderator, reason=" ")
    assert no_reason.value.code == "reason_required"
    # The owner may retry their own record's delete (not audited: their own tape).
    tape_federation_delete_retry(tape=tape, actor=user)
    assert TapeFederation.objects.get(tape=tape).state == FederationState.PENDING
    assert not audit_entries_for(target=tape).filter(action="tape_retry_federation").exists()
    # Retrying is for a delete that gave up; a ready tape's record is not one.
    other = ready_tape(user)
    own.start()
    federate(other)
    with pytest.raises(TapesiteError) as nothing:
        tape_federation_delete_retry(tape=other, actor=moderator, reason="?")
    assert (nothing.value.code, nothing.value.status) == ("record_delete_not_pending", 409)


def backdate(tape: Tape, **fields: Any) -> None:
    long_ago = timezone.now() - timedelta(hours=2)
    TapeFederation.objects.filter(tape=tape).update(updated_at=long_ago, **fields)


def test_reconcile_backs_off_a_job_that_keeps_dying_then_fails_it_as_federation_stuck(
    api: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.ATPROTO_STUCK_AFTER_SECONDS = 60
    settings.ATPROTO_STUCK_MAX_REQUEUES = 2
    settings.ATPROTO_RETRY_CAP_SECONDS = 3600
    link(user)
    tape = ready_tape(user)
    tape_federation_start(tape=tape)
    queue = django_rq.get_queue(FEDERATE.queue)

    # The job waits behind others: late, not lost, and not counted.
    queue.enqueue(FEDERATE.func, tape.pk, job_id=FEDERATE.job_id(tape.pk))
    backdate(tape)
    assert tapes_federation_reconcile().requeued == []
    assert TapeFederation.objects.get(tape=tape).requeues == 0

    # Its job dies each time (a worker killed, the job timeout): requeued, waiting longer.
    waits = []
    for expected in (1, 2):
        queue.empty()
        backdate(tape, requeue_after=None)
        before = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            report = tapes_federation_reconcile()
        assert report.requeued == [tape.pk]
        assert FEDERATE.job_id(tape.pk) in queue.job_ids
        fed = TapeFederation.objects.get(tape=tape)
        assert fed.requeues == expected and fed.requeue_after is not None
        waits.append((fed.requeue_after - before).total_seconds())
        # Before its wait is over, it is left alone even with no job and no sign of life.
        queue.empty()
        backdate(tape)
        assert tapes_federation_reconcile().requeued == []
    assert 60 <= waits[0] <= 61 and 180 <= waits[1] <= 181

    backdate(tape, requeue_after=timezone.now() - timedelta(seconds=1))
    report = tapes_federation_reconcile()
    assert (report.requeued, report.gave_up) == ([], [tape.pk])
    fed = TapeFederation.objects.get(tape=tape)
    assert (fed.state, fed.code) == (FederationState.FAILED, "federation_stuck")
    assert "2 requeues" in fed.message

    # Retryable as any failure: the owner retries, and the count starts again.
    api.force_login(user)
    shown = api.get(f"/api/tapes/{tape.code}").json()["federation"]
    assert (shown["state"], shown["code"]) == ("failed", "federation_stuck")
    assert api.post(f"/api/tapes/{tape.code}/federation").status_code == 202
    fed.refresh_from_db()
    assert (fed.state, fed.requeues, fed.requeue_after) == (FederationState.PENDING, 0, None)
    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE


def test_a_stuck_delete_ends_record_delete_failed(
    user: Any, link: Any, ready_tape: Callable[..., Tape], settings: Any
) -> None:
    settings.ATPROTO_STUCK_MAX_REQUEUES = 0
    link(user)
    tape = ready_tape(user)
    federate(tape)
    tape_nuke(tape=tape, actor=user)
    backdate(tape)
    report = tapes_federation_reconcile()
    assert report.gave_up == [tape.pk]
    fed = TapeFederation.objects.get(tape=tape)
    assert (fed.state, fed.code, fed.wanted) == (
        FederationState.FAILED,
        "record_delete_failed",
        False,
    )
    assert fed.stale_rkeys
