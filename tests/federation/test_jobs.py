"""The federate job in real worker processes (``manage.py tapes_worker --burst``), against the
reference PDS, read back with plain XRPC calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_rq
import pytest
import requests
from django.db import connections
from django.utils import timezone

from federation.models import AtprotoAccount, FederationState, TapeFederation
from federation.queueing import FEDERATE
from federation.services import tape_federation_start, tapes_federation_reconcile
from federation.services.sessions import decrypt
from tapes.models import Tape, TapeStatus
from tapes.storage import storage_for
from tests.federation.conftest import COLLECTION, TricklingPds, expire_access_token
from tests.support.pds import Pds
from tests.support.synth import make_tape

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def start_worker(settings: Any, media: Path, queues: str = "") -> subprocess.Popen[bytes]:
    connections.close_all()
    db = connections["default"].settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tapesite.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_MEDIA_ROOT": str(media),
        "ATPROTO_PLC_URL": settings.ATPROTO_PLC_URL,
        "ATPROTO_HANDLE_RESOLVER_URL": settings.ATPROTO_HANDLE_RESOLVER_URL,
        "TAPES_EGRESS_ALLOWED_ORIGINS": ",".join(settings.TAPES_EGRESS_ALLOWED_ORIGINS),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "tapes_worker",
            "--burst",
            *(["--queues", queues] if queues else []),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait(worker: subprocess.Popen[bytes]) -> None:
    output, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, output.decode(errors="replace")[-3000:]


def enqueue_all(tapes: list[Tape], capture: Any) -> None:
    with capture(execute=True):
        for tape in tapes:
            assert tape_federation_start(tape=tape) is not None


def test_a_posted_tape_is_encoded_then_federated_by_the_worker(
    api: Any,
    user: Any,
    link: Callable[..., Any],
    post_tape: Any,
    settings: Any,
    local_storage: Path,
    tmp_path: Path,
    pds: Pds,
) -> None:
    _, remote = link(user)
    api.force_login(user)
    synth = make_tape(tmp_path / "t.zip", frames=10, width=48, height=32, scale=2, piece="line")
    posted = post_tape(piece="line", content=synth.path.read_bytes())
    assert posted.status_code == 201, posted.content
    wait(start_worker(settings, local_storage))

    tape = Tape.objects.get(code=posted.json()["code"])
    assert tape.status == TapeStatus.READY
    assert TapeFederation.objects.get(tape=tape).state == FederationState.DONE
    shown = api.get(f"/api/tapes/{tape.code}").json()
    assert shown["federation"]["state"] == "done"
    got = pds.get_record(remote.did, COLLECTION, shown["at"]["rkey"]).json()
    assert got["uri"] == shown["at"]["uri"] and got["cid"] == shown["at"]["cid"]
    assert got["value"]["frames"] == 10
    blob = pds.get_blob(remote.did, got["value"]["video"]["ref"]["$link"]).content
    with storage_for(tape.bucket).open(tape.mp4_key, "rb") as handle:
        assert blob == handle.read()


def test_a_worker_federating_20_tapes_logs_in_at_most_once(
    user: Any,
    link: Callable[..., Any],
    ready_tape: Callable[..., Tape],
    settings: Any,
    local_storage: Path,
    pds: Pds,
    django_capture_on_commit_callbacks: Any,
) -> None:
    account, remote = link(user)
    # No stored session at all: the worker has to log in, once.
    AtprotoAccount.objects.filter(pk=account.pk).update(session="", logins=0)
    tapes = [ready_tape(user) for _ in range(20)]
    enqueue_all(tapes, django_capture_on_commit_callbacks)
    wait(start_worker(settings, local_storage))
    account.refresh_from_db()
    assert account.logins == 1
    assert account.refreshes == 0
    assert TapeFederation.objects.filter(state=FederationState.DONE).count() == 20
    records = pds.list_records(remote.did, COLLECTION)
    assert len(records) == 20
    assert {r["value"]["code"] for r in records} == {t.code for t in tapes}


def test_two_workers_sharing_an_account_keep_its_session_working(
    user: Any,
    link: Callable[..., Any],
    ready_tape: Callable[..., Tape],
    settings: Any,
    local_storage: Path,
    pds: Pds,
    django_capture_on_commit_callbacks: Any,
) -> None:
    account, remote = link(user)
    AtprotoAccount.objects.filter(pk=account.pk).update(logins=0)
    account.refresh_from_db()
    # Both workers find an expired access token and want to spend the single-use refresh token.
    expire_access_token(account)
    tapes = [ready_tape(user) for _ in range(12)]
    enqueue_all(tapes, django_capture_on_commit_callbacks)
    workers = [start_worker(settings, local_storage) for _ in range(2)]
    for worker in workers:
        wait(worker)
    account.refresh_from_db()
    assert TapeFederation.objects.filter(state=FederationState.DONE).count() == 12
    assert len(pds.list_records(remote.did, COLLECTION)) == 12
    assert (account.logins, account.refreshes) == (0, 1)
    # The session the workers left behind still works, both halves (plain XRPC).
    stored = json.loads(decrypt(account.session))
    me = requests.get(
        pds.xrpc_url("com.atproto.server.getSession"),
        headers={"Authorization": f"Bearer {stored['accessJwt']}"},
        timeout=30,
    )
    assert me.status_code == 200 and me.json()["did"] == remote.did
    refreshed = requests.post(
        pds.xrpc_url("com.atproto.server.refreshSession"),
        headers={"Authorization": f"Bearer {stored['refreshJwt']}"},
        timeout=30,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_federate_jobs_have_their_own_queue_and_an_encode_worker_leaves_them(
    user: Any,
    link: Callable[..., Any],
    ready_tape: Callable[..., Tape],
    settings: Any,
    local_storage: Path,
    pds: Pds,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _, remote = link(user)
    tape = ready_tape(user)
    enqueue_all([tape], django_capture_on_commit_callbacks)
    federate_queue = django_rq.get_queue("federate")
    assert federate_queue.job_ids == [FEDERATE.job_id(tape.pk)]
    assert django_rq.get_queue("encode").job_ids == []
    assert django_rq.get_queue("default").job_ids == []
    job = federate_queue.fetch_job(FEDERATE.job_id(tape.pk))
    assert job is not None and job.timeout == settings.ATPROTO_FEDERATE_JOB_TIMEOUT_SECONDS

    # An encode worker does not touch it...
    wait(start_worker(settings, local_storage, queues="encode"))
    assert federate_queue.job_ids == [FEDERATE.job_id(tape.pk)]
    assert TapeFederation.objects.get(tape=tape).state == FederationState.PENDING
    assert pds.list_records(remote.did, COLLECTION) == []
    # ...a federation worker runs it.
    wait(start_worker(settings, local_storage, queues="federate"))
    assert TapeFederation.objects.get(tape=tape).state == FederationState.DONE
    assert len(pds.list_records(remote.did, COLLECTION)) == 1


def test_a_federate_job_queued_on_default_before_the_split_still_runs(
    user: Any,
    link: Callable[..., Any],
    ready_tape: Callable[..., Tape],
    settings: Any,
    local_storage: Path,
    pds: Pds,
) -> None:
    _, remote = link(user)
    tape = ready_tape(user)
    # As the previous release queued it: same function, same id, on "default".
    old = django_rq.get_queue("default")
    old.enqueue(FEDERATE.func, tape.pk, job_id=FEDERATE.job_id(tape.pk))
    # Its id is taken: starting the record (this test commits, so its enqueue runs) waits for
    # that job instead of queueing a second run on the new queue.
    assert tape_federation_start(tape=tape) is not None
    assert django_rq.get_queue("federate").job_ids == []
    wait(start_worker(settings, local_storage, queues="federate,default"))
    assert old.job_ids == []
    assert TapeFederation.objects.get(tape=tape).state == FederationState.DONE
    assert len(pds.list_records(remote.did, COLLECTION)) == 1


def test_the_worker_refuses_a_queue_that_does_not_exist(settings: Any, local_storage: Path) -> None:
    worker = start_worker(settings, local_storage, queues="encode,federat")
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode != 0
    assert b"unknown queue(s) federat" in output


def test_a_trickling_pds_holds_a_federation_worker_no_longer_than_the_job_timeout(
    user: Any,
    link: Callable[..., Any],
    ready_tape: Callable[..., Tape],
    settings: Any,
    local_storage: Path,
    trickling_pds: TricklingPds,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The per-call deadline is the egress client's; whatever a PDS does, the whole run is
    bounded by the job's timeout, and reconcile then counts the run that died."""
    settings.ATPROTO_FEDERATE_JOB_TIMEOUT_SECONDS = 4
    account, _remote = link(user)
    AtprotoAccount.objects.filter(pk=account.pk).update(pds_url=trickling_pds.url, session="")
    tape = ready_tape(user)
    enqueue_all([tape], django_capture_on_commit_callbacks)
    started = time.monotonic()
    wait(start_worker(settings, local_storage, queues="federate"))
    held = time.monotonic() - started
    assert trickling_pds.connections == 1
    # Killed at its timeout, not at the end of the trickle (two minutes).
    assert held < 100, held
    job = django_rq.get_queue("federate").fetch_job(FEDERATE.job_id(tape.pk))
    assert job is not None and job.is_failed
    result = job.latest_result()
    assert result is not None and "JobTimeoutException" in (result.exc_string or "")
    fed = TapeFederation.objects.get(tape=tape)
    assert (fed.state, fed.requeues) == (FederationState.PENDING, 0)

    # No outcome was recorded: reconcile finds the dead job and requeues it, counted.
    settings.ATPROTO_STUCK_AFTER_SECONDS = 60
    TapeFederation.objects.filter(pk=fed.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    assert tapes_federation_reconcile().requeued == [tape.pk]
    assert TapeFederation.objects.get(pk=fed.pk).requeues == 1
