"""The federate job's work (federation/services/federate.py) against the real reference PDS,
read back with plain XRPC calls: crashes and nukes mid-write, and the PDS's errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import django_rq
import pytest
import requests
from rq.registry import ScheduledJobRegistry

from federation import xrpc
from federation.errors import CODES
from federation.jobs import federate_tape
from federation.models import AccountState, AtprotoAccount, FederationState, TapeFederation
from federation.queueing import FEDERATE
from federation.services import (
    atproto_account_link,
    atproto_records_delete_all,
    tape_federate,
    tape_federation_start,
)
from tapes.models import Tape
from tapes.services import tape_nuke
from tests.federation.conftest import (
    COLLECTION,
    RateLimitingPds,
    at_of,
    expire_access_token,
    fed_of,
    federate,
)
from tests.federation.factories import AtprotoAccountFactory
from tests.support.encoded import Encoded
from tests.support.listeners import Listener, respond, settle
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def test_a_crash_between_create_record_and_saving_at_leaves_one_record(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds, monkeypatch: Any
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    real_create = xrpc.Xrpc.create_record

    def create_then_die(self: xrpc.Xrpc, *args: Any, **kwargs: Any) -> dict[str, Any]:
        real_create(self, *args, **kwargs)
        raise SystemExit("worker killed after createRecord")

    monkeypatch.setattr(xrpc.Xrpc, "create_record", create_then_die)
    with pytest.raises(SystemExit):
        federate(tape)
    rkey = fed_of(tape).rkey
    assert rkey, "the rkey is saved before createRecord"
    tape.refresh_from_db()
    assert at_of(tape) == {}
    assert len(pds.list_records(remote.did, COLLECTION)) == 1

    monkeypatch.setattr(xrpc.Xrpc, "create_record", real_create)
    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE
    records = pds.list_records(remote.did, COLLECTION)
    assert len(records) == 1
    tape.refresh_from_db()
    assert at_of(tape)["rkey"] == rkey
    assert records[0]["uri"] == at_of(tape)["uri"]


@pytest.mark.parametrize("delete_runs_first", [False, True], ids=["delete-after", "delete-before"])
def test_a_nuke_while_the_record_is_being_written_leaves_no_record(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    monkeypatch: Any,
    delete_runs_first: bool,
) -> None:
    """A moderator nukes the tape while its federate job is between createRecord and saving
    ``at``; the nuke's own delete job runs after that job, or before it finishes."""
    _account, remote = link(user)
    tape = ready_tape(user)
    real_create = xrpc.Xrpc.create_record
    nested: list[Any] = []

    def create_then_nuke(self: xrpc.Xrpc, *args: Any, **kwargs: Any) -> dict[str, Any]:
        created = real_create(self, *args, **kwargs)
        assert len(pds.list_records(remote.did, COLLECTION)) == 1
        tape_nuke(tape=Tape.objects.get(pk=tape.pk), actor=user, reason="changed my mind")
        if delete_runs_first:
            nested.append(tape_federate(tape_id=tape.pk))
        return created

    monkeypatch.setattr(xrpc.Xrpc, "create_record", create_then_nuke)
    outcome = federate(tape)
    monkeypatch.setattr(xrpc.Xrpc, "create_record", real_create)
    if delete_runs_first:
        assert [o.state for o in nested] == [FederationState.NONE]
    # The writing run saw the nuke: it neither claims the record nor leaves it behind.
    assert (outcome.state, outcome.code) == (FederationState.PENDING, "superseded")
    tape.refresh_from_db()
    assert at_of(tape) == {}
    assert fed_of(tape).stale_rkeys, "the record it wrote is listed for deletion"
    assert tape_federate(tape_id=tape.pk).state == FederationState.NONE
    assert pds.list_records(remote.did, COLLECTION) == []
    fed = fed_of(tape)
    assert (fed.state, fed.stale_rkeys, fed.rkey) == (FederationState.NONE, [], "")


def test_nuke_while_the_pds_is_down_completes_once_it_is_back(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds_factory: Any, settings: Any
) -> None:
    settings.ATPROTO_DELETE_MAX_ATTEMPTS = 20
    own = pds_factory()
    _account, remote = link(user, own)
    tape = ready_tape(user)
    federate(tape)
    assert len(own.list_records(remote.did, COLLECTION)) == 1

    own.stop()
    tape_nuke(tape=tape, actor=user)  # not blocked by the PDS
    tape.refresh_from_db()
    assert tape.nuked
    outcome = tape_federate(tape_id=tape.pk)
    assert (outcome.state, outcome.code) == (FederationState.PENDING, "pds_unreachable")
    assert outcome.retry_in and outcome.retry_in > 0
    # The job schedules its own retry after the back-off (RQ's scheduler runs it).
    federate_tape(tape.pk)
    scheduled = ScheduledJobRegistry(queue=django_rq.get_queue(FEDERATE.queue)).get_job_ids()
    assert any(job_id.startswith(f"tape-federate-{tape.pk}-at-") for job_id in scheduled)
    # Deletes keep trying (up to ATPROTO_DELETE_MAX_ATTEMPTS) while the PDS is down.
    for _ in range(10):
        assert tape_federate(tape_id=tape.pk).state == FederationState.PENDING

    own.start()
    assert tape_federate(tape_id=tape.pk).state == FederationState.NONE
    assert own.list_records(remote.did, COLLECTION) == []
    assert fed_of(tape).stale_rkeys == []


def test_a_blob_over_the_pds_limit_is_pds_blob_too_large_and_retryable_after(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds_factory: Any,
    encoded: Encoded,
    api: Any,
) -> None:
    small = pds_factory(blob_limit=str(len(encoded.mp4) - 1))
    _account, remote = link(user, small)
    tape = ready_tape(user)
    outcome = federate(tape)
    assert (outcome.state, outcome.code) == (FederationState.FAILED, "pds_blob_too_large")
    api.force_login(user)
    shown = api.get(f"/api/tapes/{tape.code}").json()
    # The video stays ready and visible; only the sync failed.
    assert shown["status"] == "ready"
    assert shown["federation"]["state"] == "failed"
    assert shown["federation"]["code"] == "pds_blob_too_large"
    # Users read the code's fixed text; the PDS's own answer is kept for staff.
    assert shown["federation"]["message"] == CODES["pds_blob_too_large"]
    assert "413" in fed_of(tape).message

    small.stop()
    small.start(**{"blob-limit": str(50 * 1024 * 1024)})
    retried = api.post(f"/api/tapes/{tape.code}/federation")
    assert retried.status_code == 202, retried.content
    assert retried.json()["state"] == "pending"
    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE
    assert len(small.list_records(remote.did, COLLECTION)) == 1


def test_rate_limited_login_is_pds_rate_limited_and_waits_for_the_reset(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds_factory: Any
) -> None:
    limited = pds_factory(rate_limits="true")
    account, remote = link(user, limited)
    for _ in range(40):  # createSession: 30 per 5 minutes per account
        response = requests.post(
            limited.xrpc_url("com.atproto.server.createSession"),
            json={"identifier": remote.did, "password": remote.app_password},
            timeout=30,
        )
        if response.status_code == 429:
            break
    assert response.status_code == 429
    reset = int(response.headers["ratelimit-reset"])
    # No usable session left: the worker has to log in, and the PDS says wait.
    AtprotoAccount.objects.filter(pk=account.pk).update(session="")
    tape = ready_tape(user)
    outcome = federate(tape)
    assert (outcome.state, outcome.code) == (FederationState.PENDING, "pds_rate_limited")
    fed = fed_of(tape)
    assert fed.not_before is not None
    assert abs(fed.not_before.timestamp() - reset) < 5
    assert outcome.retry_in is not None and outcome.retry_in > 5


def test_a_revoked_app_password_is_pds_auth_failed_and_relinking_recovers(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds, api: Any
) -> None:
    account, remote = link(user)
    first = ready_tape(user)
    assert federate(first).state == FederationState.DONE
    pds.revoke_app_password(remote)
    account.refresh_from_db()
    expire_access_token(account)

    second = ready_tape(user)
    outcome = federate(second)
    assert (outcome.state, outcome.code) == (FederationState.FAILED, "pds_auth_failed")
    account.refresh_from_db()
    assert account.state == AccountState.AUTH_FAILED
    api.force_login(user)
    me = api.get("/api/me/atproto").json()
    assert me["state"] == "auth_failed" and me["error"]["code"] == "pds_auth_failed"
    assert api.get(f"/api/tapes/{second.code}").json()["federation"]["code"] == "pds_auth_failed"

    # A new app password, linked again, and the user's retry goes through.
    fresh = requests.post(
        pds.xrpc_url("com.atproto.server.createAppPassword"),
        json={"name": "tapesite-2"},
        headers={"Authorization": f"Bearer {pds.login(remote.did, remote.password)['accessJwt']}"},
        timeout=30,
    ).json()["password"]
    relinked = api.put(
        "/api/me/atproto", {"identifier": remote.handle, "app_password": fresh}, format="json"
    )
    assert relinked.status_code == 200, relinked.content
    assert relinked.json()["state"] == "linked"
    assert api.post(f"/api/tapes/{second.code}/federation").status_code == 202
    assert tape_federate(tape_id=second.pk).state == FederationState.DONE
    assert len(pds.list_records(remote.did, COLLECTION)) == 2


def test_an_invalid_record_is_refused_before_any_write(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    Tape.objects.filter(pk=tape.pk).update(code="k" * 11)  # the lexicon allows 10
    tape.refresh_from_db()
    outcome = federate(tape)
    assert (outcome.state, outcome.code) == (FederationState.FAILED, "record_invalid")
    assert "Record/code" in fed_of(tape).message
    assert pds.list_records(remote.did, COLLECTION) == []


def test_a_429_with_reset_0_waits_the_floor_backs_off_and_never_passes_the_cap(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    settings: Any,
    rate_limiting_pds: RateLimitingPds,
) -> None:
    settings.ATPROTO_RETRY_FLOOR_SECONDS = 10
    settings.ATPROTO_RETRY_CAP_SECONDS = 120
    settings.ATPROTO_FEDERATE_MAX_ATTEMPTS = 20
    account, _remote = link(user)
    # The account's PDS now answers every call 429 "reset: 0" (and no session is stored, so the
    # run has to log in there first).
    AtprotoAccount.objects.filter(pk=account.pk).update(pds_url=rate_limiting_pds.url, session="")
    tape = ready_tape(user)
    tape_federation_start(tape=tape)

    delays = []
    for _ in range(3):
        before = time.time()
        outcome = tape_federate(tape_id=tape.pk)
        assert (outcome.state, outcome.code) == (FederationState.PENDING, "pds_rate_limited")
        assert outcome.retry_in is not None
        not_before = fed_of(tape).not_before
        assert not_before is not None and not_before.timestamp() >= before + 10 - 0.5
        delays.append(outcome.retry_in)
    assert len(rate_limiting_pds.calls) == 3
    # The floor, then longer each time (x3, jittered down by at most half).
    assert delays[0] == 10
    assert 15 <= delays[1] <= 30
    assert 45 <= delays[2] <= 90

    # A reset in the past is the floor's business too; one ten years away is held to the cap.
    rate_limiting_pds.reset = str(int(time.time()) - 3600)
    TapeFederation.objects.filter(tape=tape).update(attempts=0)
    assert tape_federate(tape_id=tape.pk).retry_in == 10
    rate_limiting_pds.reset = str(int(time.time()) + 10 * 365 * 86400)
    outcome = tape_federate(tape_id=tape.pk)
    assert outcome.retry_in == 120
    not_before = fed_of(tape).not_before
    assert not_before is not None and not_before.timestamp() <= time.time() + 120

    # The job schedules its retry on the federation queue, no sooner than the floor.
    rate_limiting_pds.reset = "0"
    TapeFederation.objects.filter(tape=tape).update(attempts=0)
    before = time.time()
    federate_tape(tape.pk)
    registry = ScheduledJobRegistry(queue=django_rq.get_queue(FEDERATE.queue))
    (job_id,) = registry.get_job_ids()
    job = django_rq.get_queue(FEDERATE.queue).fetch_job(job_id)
    assert job is not None and job.timeout == settings.ATPROTO_FEDERATE_JOB_TIMEOUT_SECONDS
    assert registry.get_scheduled_time(job_id).timestamp() >= before + 10 - 1


def test_a_delete_that_keeps_failing_ends_record_delete_failed_with_its_rkey_kept(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds_factory: Any,
    settings: Any,
) -> None:
    settings.ATPROTO_DELETE_MAX_ATTEMPTS = 3
    own = pds_factory()
    _account, remote = link(user, own)
    tape = ready_tape(user)
    federate(tape)
    rkey = fed_of(tape).rkey
    own.stop()
    tape_nuke(tape=tape, actor=user)
    states = [tape_federate(tape_id=tape.pk) for _ in range(3)]
    assert [(o.state, o.code) for o in states] == [
        (FederationState.PENDING, "pds_unreachable"),
        (FederationState.PENDING, "pds_unreachable"),
        (FederationState.FAILED, "record_delete_failed"),
    ]
    assert states[-1].retry_in is None  # nothing scheduled: it waits for staff
    fed = fed_of(tape)
    assert (fed.state, fed.wanted, fed.stale_rkeys) == (FederationState.FAILED, False, [rkey])
    assert "pds_unreachable" in fed.message and "3 attempts" in fed.message

    # The record is still there; a run (staff's retry starts one) deletes it once it can.
    own.start()
    assert len(own.list_records(remote.did, COLLECTION)) == 1
    assert tape_federate(tape_id=tape.pk).state == FederationState.NONE
    assert own.list_records(remote.did, COLLECTION) == []


def test_unlinking_with_delete_records_touches_only_the_users_own_tapes(
    user: Any,
    other_user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
) -> None:
    """Two site users linked one DID: one of them deleting their records leaves the other's."""
    mine_account, remote = link(user)
    theirs_account = atproto_account_link(
        user=other_user, identifier=remote.did, app_password=remote.app_password
    )
    assert theirs_account.did == mine_account.did
    mine, theirs = ready_tape(user), ready_tape(other_user)
    assert federate(mine).state == FederationState.DONE
    assert federate(theirs).state == FederationState.DONE
    theirs_before = fed_of(theirs)
    assert len(pds.list_records(remote.did, COLLECTION)) == 2

    assert atproto_records_delete_all(account=mine_account) == 1

    records = pds.list_records(remote.did, COLLECTION)
    assert [r["uri"] for r in records] == [theirs_before.uri]
    after = fed_of(theirs)
    assert (after.state, after.wanted, after.rkey, after.uri, after.cid) == (
        FederationState.DONE,
        True,
        theirs_before.rkey,
        theirs_before.uri,
        theirs_before.cid,
    )
    assert (fed_of(mine).state, fed_of(mine).rkey) == (FederationState.NONE, "")


def test_a_linked_pds_on_an_internal_address_never_gets_the_video(
    user: Any, ready_tape: Callable[..., Tape], listener: Callable[..., Listener]
) -> None:
    # Linked before the egress client refused such PDSes, or a DID document changed since.
    target = listener(respond())
    AtprotoAccountFactory.create(user=user, pds_url=target.url)
    tape = ready_tape(user)
    outcome = federate(tape)
    assert (outcome.state, outcome.code) == (FederationState.FAILED, "egress_address_refused")
    fed = fed_of(tape)
    assert str(target.port) in fed.message  # the detail, for staff
    settle()
    assert target.connections == 0
