"""The bounded fault run: the site as production runs it (gunicorn, two workers, PostgreSQL,
its own Redis and SeaweedFS on loopback) takes a stream of good and bad tapes while a worker is
killed, Redis restarts with and without its data, and storage pauses. At the end every posted
tape is ready or failed with a code: none lost, none encoded twice into different files, none
stuck. A few minutes at most."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests

from tapes.models import Tape, TapeStatus
from tests.conftest import tiny_zip
from tests.support import synth
from tests.support.services import RedisServer, S3Server, seaweedfs, weed_pids
from tests.support.site import (
    SiteClient,
    current_database_url,
    gunicorn,
    kill_tree,
    production_env,
    start_worker,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3, pytest.mark.slow]

POSTING_SECONDS = 50
SETTLE_SECONDS = 150
# The codes a good tape can end with when its retries ran out during the faults.
TRANSIENT_CODES = {"encode_gave_up", "storage_unavailable", "zip_missing", "encode_crashed"}


class PersistentRedis(RedisServer):
    """A private Redis that keeps its data across a restart (SAVE before stopping) or loses it."""

    def restart(self, *, keep_data: bool) -> None:
        import redis

        if keep_data:
            redis.Redis(port=self.port).save()
        self.stop()
        if not keep_data:
            (self.workdir / "dump.rdb").unlink(missing_ok=True)
        self.start()


@dataclass
class Posted:
    good: dict[str, str] = field(default_factory=dict)  # code -> slug
    bad: dict[str, str] = field(default_factory=dict)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextlib.contextmanager
def _storage(tmp_path: Path) -> Iterator[tuple[S3Server, Path]]:
    workdir = tmp_path / "s3"
    workdir.mkdir()
    with seaweedfs(workdir) as server:
        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
        )
        for bucket in ("user-tapesite", "guest-tapesite"):
            client.create_bucket(Bucket=bucket)
        yield server, workdir / "data"


class Workers:
    """Two workers that are restarted when they exit, as a process supervisor would."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.procs: list[subprocess.Popen[bytes]] = [start_worker(env, log) for _ in range(2)]
        self.stopping = False
        self.lock = threading.Lock()

    def supervise(self) -> None:
        while not self.stopping:
            with self.lock:
                for i, proc in enumerate(self.procs):
                    if proc.poll() is not None and not self.stopping:
                        self.procs[i] = start_worker(self.env, self.log)
            time.sleep(1)

    def kill_one(self) -> None:
        with self.lock:
            kill_tree(self.procs[0])  # SIGKILL: the worker and the tape it was encoding
            self.procs[0].wait(timeout=10)

    def stop(self) -> None:
        self.stopping = True
        with self.lock:
            for proc in self.procs:
                kill_tree(proc, signal.SIGTERM)
            for proc in self.procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    kill_tree(proc)


def _poster(base_url: str, good: bytes, posted: Posted, stop: threading.Event, n: int) -> None:
    client = SiteClient(base_url)
    i = 0
    while not stop.is_set():
        i += 1
        is_bad = i % 4 == 0
        try:
            ticket = client.start(piece=f"f{n}", size=len(tiny_zip() if is_bad else good))
            sent = client.upload(ticket, tiny_zip() if is_bad else good)
            if sent.status_code not in (200, 201, 204):
                raise RuntimeError(sent.text)
            answer = client.register(ticket)
        except (requests.RequestException, AssertionError, RuntimeError):
            with posted.lock:
                posted.refused += 1
            time.sleep(0.5)
            continue
        with posted.lock:
            if answer.status_code == 201:
                (posted.bad if is_bad else posted.good)[answer.json()["code"]] = ticket["slug"]
            else:
                posted.refused += 1
        time.sleep(0.6)  # a steady stream, not a flood: the run stays a few minutes


def test_faults_lose_nothing(tmp_path: Path) -> None:
    good_path = tmp_path / "good.zip"
    synth.make_tape(good_path, frames=6, width=32, height=24, scale=4, seed=7)
    good = good_path.read_bytes()
    redis_server = PersistentRedis(tmp_path)
    redis_server.start()
    workers: Workers | None = None
    with _storage(tmp_path) as (s3, weed_data):
        env = production_env(
            database_url=current_database_url(),
            redis_url=redis_server.url,
            s3=s3,
            TAPES_RECONCILE_INTERVAL_SECONDS="5",
            TAPES_STUCK_AFTER_SECONDS="30",
            TAPES_WORKER_HEARTBEAT_GRACE_SECONDS="45",
            TAPES_RETRY_INTERVALS="2,4,8,15",
            TAPES_MAX_ATTEMPTS="6",
            TAPES_READ_TIMEOUT_SECONDS="10",
            TAPES_THROTTLE_UPLOAD="100000/min",
            TAPES_THROTTLE_POST="100000/min",
            TAPES_THROTTLE_READ="100000/min",
            TAPES_UPLOAD_MAX_OPEN_PER_CLIENT="1000",
            # Every poster is 127.0.0.1: one guest as far as the daily quota knows.
            TAPES_QUOTA_GUEST_TAPES_PER_DAY="0",
            TAPES_QUOTA_GUEST_BYTES_PER_DAY="0",
        )
        try:
            with gunicorn(env, tmp_path / "gunicorn.log") as site:
                workers = Workers(env, tmp_path / "workers.log")
                supervisor = threading.Thread(target=workers.supervise, daemon=True)
                supervisor.start()
                posted, stop = Posted(), threading.Event()
                posters = [
                    threading.Thread(target=_poster, args=(site.url, good, posted, stop, n))
                    for n in range(2)
                ]
                for thread in posters:
                    thread.start()
                faults: list[str] = []
                started = time.monotonic()

                def at(second: float) -> None:
                    time.sleep(max(0.0, started + second - time.monotonic()))

                at(6)
                workers.kill_one()
                faults.append("worker killed")
                at(14)
                redis_server.restart(keep_data=True)
                faults.append("redis restarted with its data")
                at(22)
                redis_server.restart(keep_data=False)
                faults.append("redis restarted without its data")
                at(30)
                paused = weed_pids(weed_data)
                assert paused, "SeaweedFS process not found"
                for pid in paused:
                    os.kill(pid, signal.SIGSTOP)
                time.sleep(6)
                for pid in paused:
                    os.kill(pid, signal.SIGCONT)
                faults.append("storage paused 6 s")
                at(40)
                workers.kill_one()
                faults.append("worker killed again")
                at(POSTING_SECONDS)
                stop.set()
                for thread in posters:
                    thread.join(timeout=60)

                all_codes = {**posted.good, **posted.bad}
                assert len(posted.good) >= 5 and len(posted.bad) >= 2, posted
                deadline = time.monotonic() + SETTLE_SECONDS
                while time.monotonic() < deadline:
                    waiting = Tape.objects.filter(code__in=all_codes).exclude(
                        status__in=[TapeStatus.READY, TapeStatus.FAILED]
                    )
                    if not waiting.exists():
                        break
                    time.sleep(2)
        finally:
            if workers is not None:
                workers.stop()
            redis_server.stop()

        tapes = {t.code: t for t in Tape.objects.filter(code__in=all_codes)}
        lost = set(all_codes) - set(tapes)
        stuck = {c: t.status for c, t in tapes.items() if t.status not in ("ready", "failed")}
        assert not lost, f"posted but missing: {lost}"
        assert not stuck, f"not finished after {SETTLE_SECONDS} s: {stuck}; faults: {faults}"
        for code, tape in tapes.items():
            if tape.status == TapeStatus.FAILED:
                assert tape.failure_code, code
        for code in posted.bad:
            assert tapes[code].status == TapeStatus.FAILED, code
            assert tapes[code].failure_code.startswith("validation_"), tapes[code].failure_code
        ready = [t for c, t in tapes.items() if c in posted.good and t.status == "ready"]
        # A good tape may only fail by running out of retries while the faults lasted (a killed
        # worker and a paused storage each cost an attempt), never with a verdict on its content.
        gave_up = {
            c: t.failure_code
            for c, t in tapes.items()
            if c in posted.good and t.status == TapeStatus.FAILED
        }
        assert set(gave_up.values()) <= TRANSIENT_CODES, gave_up
        assert len(ready) >= len(posted.good) * 0.8, {
            c: (t.status, t.failure_code) for c, t in tapes.items()
        }

        # None encoded twice into different files: exactly the tape's fixed keys in storage (no
        # renamed duplicates), the MP4 the size the tape records.
        client = boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key,
            region_name="us-east-1",
        )
        listed: dict[str, int] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket="guest-tapesite"):
            for item in page.get("Contents", []):
                listed[item["Key"]] = item["Size"]
        for tape in ready:
            mine = {k for k in listed if k.startswith(tape.slug)}
            fields = [f.name for f in Tape._meta.get_fields() if f.name.endswith("_key")]
            expected = {getattr(tape, name) for name in fields} - {""}
            assert mine == expected, (tape.code, sorted(mine))
            assert listed[tape.mp4_key] == tape.mp4_bytes
        print(
            f"fault run: {len(posted.good)} good, {len(posted.bad)} bad posted, "
            f"{posted.refused} refused during faults, {len(ready)} ready; faults: {faults}"
        )
