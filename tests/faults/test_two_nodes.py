"""The two-node run: the site as docs/architecture.md says it grows, for real. Two web nodes
(gunicorn, production settings) and two worker hosts (``manage.py tapes_worker``), each a network
namespace with its own address, share a PostgreSQL, a Redis and a SeaweedFS on a third
(tests/support/nodes.py). The test posts tapes through both web nodes while one worker host loses
its route to Redis mid-encode and gets it back, one web node is killed for good, and storage
stalls. At the end every tape is ready or failed with a code, none lost, none encoded twice into
different files, none stuck, and every post through the surviving node succeeded. A few minutes
at most; the figures it prints are the ones docs/operations.md reports."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tapes.models import Tape
from tests.support import synth
from tests.support.netns import LabNetwork
from tests.support.nodes import (
    BUCKETS,
    FINAL,
    TwoNodeSite,
    bucket_listing,
    keep_logs,
    key_columns,
    post_continuously,
    storage_answers,
    tapes_read,
    two_node_site,
)
from tests.support.services import weed_pids
from tests.support.site import kill_tree

pytestmark = [pytest.mark.s3, pytest.mark.slow]

POSTING_SECONDS = 60
SETTLE_SECONDS = 150
REDIS_CUT_SECONDS = 8
STALL_SECONDS = 5
# A steady stream, not a flood: two workers on two cores keep up with about one tape a second,
# so the run stays a few minutes and the settle time measures recovery more than a backlog.
POST_PAUSE_SECONDS = 1.0
# The codes a good tape can end with when its retries ran out during the faults.
TRANSIENT_CODES = {"encode_gave_up", "storage_unavailable", "zip_missing", "encode_crashed"}
SETTINGS = {
    "TAPES_RECONCILE_INTERVAL_SECONDS": "5",
    "TAPES_STUCK_AFTER_SECONDS": "30",
    "TAPES_WORKER_HEARTBEAT_GRACE_SECONDS": "45",
    "TAPES_RETRY_INTERVALS": "2,4,8,15",
    "TAPES_MAX_ATTEMPTS": "6",
    "TAPES_READ_TIMEOUT_SECONDS": "10",
    # Every post comes from the test's one address.
    "TAPES_THROTTLE_UPLOAD": "100000/min",
    "TAPES_THROTTLE_POST": "100000/min",
    "TAPES_THROTTLE_READ": "100000/min",
    "TAPES_UPLOAD_MAX_OPEN_PER_CLIENT": "1000",
    # ...and is one guest to the daily posting quotas (0 turns them off).
    "TAPES_QUOTA_GUEST_TAPES_PER_DAY": "0",
    "TAPES_QUOTA_GUEST_BYTES_PER_DAY": "0",
}


def _tape_encoding_on(site: TwoNodeSite, host: int, within: float) -> dict[str, Any]:
    """Wait until worker host ``host`` is encoding a tape (RQ says it runs its job, the
    database says it is processing); that tape."""
    deadline = time.monotonic() + within
    connection = site.redis_client()
    while time.monotonic() < deadline:
        tape_id = site.workers[host].current_tape(connection)
        if tape_id is not None and site.workers[host].horses_alive():
            with psycopg.connect(site.database_url) as conn:
                row = conn.execute(
                    f"SELECT code, status FROM {Tape._meta.db_table} WHERE id = %s", [tape_id]
                ).fetchone()
            if row and row[1] == "processing":
                return {"id": tape_id, "code": row[0]}
        time.sleep(0.02)
    raise AssertionError(f"worker host {host + 1} encoded nothing for {within} s: nothing to cut")


def _faults(site: TwoNodeSite, net: LabNetwork, run_dir: Path) -> dict[str, Any]:
    """Break the site while the posters run; when each fault began and ended, and when it had
    recovered."""
    clock, cut_host, web1 = site.clock, site.workers[0], site.webs[0]
    # 1. Mid-encode, worker host 1 loses its route to Redis (PostgreSQL and S3 stay).
    clock.at(10)
    tape = _tape_encoding_on(site, 0, within=30)
    net.blackhole(cut_host.host, [site.redis_server.host])
    cut_at = clock.now()
    time.sleep(REDIS_CUT_SECONDS)
    net.restore(cut_host.host, [site.redis_server.host])
    restored_at = clock.now()

    # 2. Web node 1 dies (SIGKILL, its whole gunicorn tree) and stays dead.
    clock.at(25)
    assert web1.proc is not None
    site.nodes[0].killed_at = killed_at = clock.now()
    kill_tree(web1.proc)
    web1.proc.wait(timeout=10)

    # 3. Storage stalls: every SeaweedFS process stopped, then continued.
    clock.at(35)
    paused = weed_pids(run_dir / "s3" / "data")
    assert paused, "SeaweedFS process not found"
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    stalled_at = clock.now()
    time.sleep(STALL_SECONDS)
    for pid in paused:
        os.kill(pid, signal.SIGCONT)
    resumed_at = clock.now()
    deadline = time.monotonic() + 30
    while not storage_answers(site.s3) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {
        "redis_cut": {"at": cut_at, "until": restored_at, "tape": tape["code"], "id": tape["id"]},
        "web1_killed": {"at": killed_at},
        "storage_stall": {"at": stalled_at, "until": resumed_at, "answers": clock.now()},
    }


def test_two_nodes_lose_nothing(lab_network: LabNetwork, run_dir: Path, tmp_path: Path) -> None:
    wall_started = time.monotonic()
    good_path = run_dir / "good.zip"
    synth.make_tape(good_path, frames=6, width=32, height=24, scale=4, seed=7)
    good = good_path.read_bytes()
    try:
        with two_node_site(lab_network, run_dir, **SETTINGS) as site:
            clock = site.clock
            stop = threading.Event()
            posters = [
                threading.Thread(
                    target=post_continuously,
                    args=(node, good, stop, clock),
                    kwargs={"pause": POST_PAUSE_SECONDS},
                )
                for node in site.nodes
            ]
            for thread in posters:
                thread.start()
            try:
                faults = _faults(site, lab_network, run_dir)
                clock.at(POSTING_SECONDS)
            finally:
                stop.set()
                for thread in posters:
                    thread.join(timeout=90)
            posting_ended = clock.now()
            tapes = tapes_read(site.database_url)
            unfinished = [t for t in tapes.values() if t["status"] not in FINAL]
            deadline = time.monotonic() + SETTLE_SECONDS
            while time.monotonic() < deadline:
                tapes = tapes_read(site.database_url)
                if all(t["status"] in FINAL for t in tapes.values()):
                    break
                time.sleep(1)
            settled_at = clock.now()
            tapes = tapes_read(site.database_url)
            listed = bucket_listing(site.s3, BUCKETS[1])
    finally:
        keep_logs(run_dir, tmp_path)

    # Everything is stopped: now the verdict, on what was recorded.
    web1, web2 = site.nodes
    posted = {code: slug for n in site.nodes for code, slug in {**n.good, **n.bad}.items()}
    lost = {code for code in posted if code not in tapes}
    assert not lost, f"posted (201) but not in the database: {lost}"
    mismatched = {c: (s, tapes[c]["slug"]) for c, s in posted.items() if tapes[c]["slug"] != s}
    assert not mismatched, f"codes answered for other slugs: {mismatched}"
    stuck = {c: t["status"] for c, t in tapes.items() if t["status"] not in FINAL}
    assert not stuck, f"not finished {SETTLE_SECONDS} s after posting: {stuck} (logs: {tmp_path})"
    uncoded = [c for c, t in tapes.items() if t["status"] == "failed" and not t["failure_code"]]
    assert not uncoded, f"failed without a code: {uncoded}"
    for code in {**web1.bad, **web2.bad}:
        assert tapes[code]["status"] == "failed", code
        assert tapes[code]["failure_code"].startswith("validation_"), tapes[code]
    good_codes = {**web1.good, **web2.good}
    gave_up = {c: tapes[c]["failure_code"] for c in good_codes if tapes[c]["status"] == "failed"}
    assert set(gave_up.values()) <= TRANSIENT_CODES, gave_up
    ready = {c: t for c, t in tapes.items() if t["status"] == "ready"}
    assert len(ready) >= len(good_codes) * 0.8, {c: t["status"] for c, t in tapes.items()}
    cut_code = faults["redis_cut"]["tape"]
    cut_outcome = "failed" if cut_code in {**web1.bad, **web2.bad} else "ready"
    assert tapes[cut_code]["status"] == cut_outcome, ("encoding at the cut", tapes[cut_code])
    assert web2.failures == [], f"posts through the surviving node failed: {web2.failures}"
    assert web1.killed_at is not None
    while_up = [f for f in web1.failures if f[0] < web1.killed_at]
    assert while_up == [], f"posts through web1 failed while it ran: {while_up}"
    assert len(web2.good) >= 10 and len(web1.good) >= 5, (len(web1.good), len(web2.good))
    assert web1.bad and web2.bad, "no bad tape was posted through one of the nodes"

    # None encoded twice into different files: exactly each tape's fixed keys in storage (no
    # renamed duplicates), the MP4 the size the tape records. Every tape here is a guest's.
    for code, tape in ready.items():
        mine = {key for key in listed if key.startswith(tape["slug"])}
        expected = {tape[name] for name in key_columns()} - {""}
        assert mine == expected, (code, sorted(mine))
        assert listed[tape["mp4_key"]] == tape["mp4_bytes"], code

    # The figures docs/operations.md reports.
    cut, stall = faults["redis_cut"], faults["storage_stall"]
    back = site.workers[0].first_job_after(cut["until"])
    readied = sorted(clock.since(t["status_changed_at"]) for t in ready.values())
    first_ready_after_stall = next((s for s in readied if s > stall["until"]), None)
    cut_tape = tapes[cut["tape"]]
    report = {
        "posted": {
            n.name: {"good": len(n.good), "bad": len(n.bad), "failed": len(n.failures)}
            for n in site.nodes
        },
        "web1_refused_after_kill": sum("ConnectionError" in f[1] for f in web1.failures),
        "faults": faults,
        "cut_tape": {
            "status": cut_tape["status"],
            "attempts": cut_tape["attempts"],
            "finished_at": clock.since(cut_tape["status_changed_at"]),
        },
        "wrk1_first_job_after_restore_s": back and round(back - cut["until"], 2),
        "worker_restarts": {h.host.name: h.restarts for h in site.workers},
        "jobs_started": {h.host.name: len(h.horses) for h in site.workers},
        "storage_answers_after_resume_s": round(stall["answers"] - stall["until"], 2),
        "first_ready_after_resume_s": first_ready_after_stall
        and round(first_ready_after_stall - stall["until"], 2),
        "posting_ended": posting_ended,
        "unfinished_when_posting_ended": len(unfinished),
        "settled_after_posting_s": round(settled_at - posting_ended, 2),
        "tapes": {"total": len(tapes), "ready": len(ready), "failed": len(tapes) - len(ready)},
        "good_failed": gave_up,
        "wall_s": round(time.monotonic() - wall_started, 1),
    }
    print("two-node run:", json.dumps(report))
