"""A site of several machines on one: two web nodes and two worker hosts, each a network
namespace of a LabNetwork (tests/support/netns.py), sharing a PostgreSQL, a Redis and a SeaweedFS
on a third, all with production settings. Used by tests/faults/test_two_nodes.py, which posts
through it and breaks parts of it."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import psutil
import psycopg
import redis
import requests
from botocore.config import Config
from rq.job import Job
from rq.worker import Worker

from tapes.models import Tape
from tests.conftest import tiny_zip
from tests.support.netns import Host, LabNetwork
from tests.support.services import PostgresServer, RedisServer, S3Server, seaweedfs
from tests.support.site import Gunicorn, SiteClient, kill_tree, manage, production_env, start_worker

BUCKETS = ("user-tapesite", "guest-tapesite")
FINAL = ("ready", "failed")


class Clock:
    """Seconds since the run started, and where a wall time (the database's) falls on it."""

    def __init__(self) -> None:
        self.start_mono = time.monotonic()
        self.start_wall = time.time()

    def now(self) -> float:
        return round(time.monotonic() - self.start_mono, 2)

    def since(self, wall: datetime) -> float:
        return round(wall.timestamp() - self.start_wall, 2)

    def at(self, second: float) -> None:
        time.sleep(max(0.0, self.start_mono + second - time.monotonic()))


@dataclass
class Node:
    """A web node and what was posted through it."""

    name: str
    url: str
    good: dict[str, str] = field(default_factory=dict)  # code -> slug
    bad: dict[str, str] = field(default_factory=dict)
    failures: list[tuple[float, str]] = field(default_factory=list)  # (second, what failed)
    killed_at: float | None = None


def post_continuously(
    node: Node,
    good: bytes,
    stop: threading.Event,
    clock: Clock,
    *,
    bad_every: int = 5,
    pause: float = 0.5,
) -> None:
    """Post tapes through ``node`` (a browser's three steps) until ``stop``, ``pause`` seconds
    apart: good ones, and every ``bad_every``-th a ZIP that is no tape. Each failed step is
    recorded, not raised."""
    client = SiteClient(node.url)
    i = 0
    while not stop.is_set():
        i += 1
        is_bad = i % bad_every == 0
        content = tiny_zip() if is_bad else good
        try:
            ticket = client.start(piece=f"{node.name}-{i}", size=len(content))
            sent = client.upload(ticket, content)
            assert sent.status_code in (200, 201, 204), f"upload {sent.status_code}"
            answer = client.register(ticket)
            assert answer.status_code == 201, f"register {answer.status_code}: {answer.text}"
        except (requests.RequestException, AssertionError) as exc:
            node.failures.append((clock.now(), f"{type(exc).__name__}: {exc}"[:300]))
        else:
            (node.bad if is_bad else node.good)[answer.json()["code"]] = ticket["slug"]
        time.sleep(pause)


class WorkerHost:
    """A worker host: one ``tapes_worker`` in the host's namespace, restarted when it exits as a
    process supervisor would, and the work horses it forked (one per job) with when each was
    first seen."""

    def __init__(self, host: Host, env: dict[str, str], log: Path, clock: Clock) -> None:
        self.host, self.env, self.log, self.clock = host, env, log, clock
        self.started = 0
        self.restarts: list[float] = []
        self.horses: dict[int, float] = {}
        self.lock = threading.Lock()
        self.proc = self._start()

    @property
    def name(self) -> str:
        return f"{self.host.name}-{self.started}"

    def _start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        return start_worker(self.env, self.log, name=self.name, wrap=self.host.wrap)

    def horses_alive(self) -> list[int]:
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []
        alive = []
        for child in children:
            # RQ's work horse puts itself in a process group of its own; its scheduler does not.
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(child.pid) == child.pid:
                    alive.append(child.pid)
        return alive

    def current_tape(self, connection: redis.Redis) -> int | None:
        """The id of the tape this host's worker is encoding now, as RQ records it."""
        worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + self.name, connection)
        job_id = worker.get_current_job_id() if worker else None
        if not job_id:
            return None
        with contextlib.suppress(Exception):  # the job may have finished since
            job = Job.fetch(job_id, connection=connection)
            if (job.func_name or "").endswith("encode_tape"):
                return int(job.args[0])
        return None

    def poll(self, stopping: bool) -> None:
        with self.lock:
            if self.proc.poll() is not None and not stopping:
                self.restarts.append(self.clock.now())
                self.proc = self._start()
            for pid in self.horses_alive():
                self.horses.setdefault(pid, self.clock.now())

    def first_job_after(self, second: float) -> float | None:
        later = [seen for seen in self.horses.values() if seen > second]
        return min(later) if later else None

    def stop(self) -> None:
        with self.lock:
            kill_tree(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_tree(self.proc)
                self.proc.wait(timeout=10)


def s3_client(server: S3Server, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
        config=Config(**config),
    )


def storage_answers(server: S3Server) -> bool:
    probe = s3_client(server, connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    try:
        probe.head_bucket(Bucket=BUCKETS[1])
    except Exception:
        return False
    return True


def bucket_listing(server: S3Server, bucket: str) -> dict[str, int]:
    """Every key in ``bucket`` with its size."""
    listed: dict[str, int] = {}
    for page in s3_client(server).get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            listed[item["Key"]] = item["Size"]
    return listed


def key_columns() -> list[str]:
    return [str(f.column) for f in Tape._meta.concrete_fields if f.name.endswith("_key")]


def tapes_read(database_url: str) -> dict[str, dict[str, Any]]:
    """Every tape in the site's database by code, read with SQL (the test process's Django is
    connected to the suite's own database, not to this one)."""
    columns = ["id", "code", "slug", "status", "failure_code", "attempts", "created_at"]
    columns += ["status_changed_at", "mp4_bytes", *key_columns()]
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {Tape._meta.db_table}").fetchall()
    return {row[1]: dict(zip(columns, row, strict=True)) for row in rows}


@dataclass
class TwoNodeSite:
    svc: Host
    redis_server: RedisServer
    s3: S3Server
    database_url: str
    webs: list[Gunicorn]
    nodes: list[Node]
    workers: list[WorkerHost]
    clock: Clock

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_server.url, socket_timeout=5)


@contextlib.contextmanager
def _started(server: Any) -> Iterator[Any]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def two_node_site(net: LabNetwork, run_dir: Path, **settings: str) -> Iterator[TwoNodeSite]:
    """Start the services on host ``svc`` (Redis on an address of its own, so a host can lose
    its route to Redis alone), migrate, then web nodes ``web1``, ``web2`` and worker hosts
    ``wrk1``, ``wrk2`` with ``settings`` on top of the production environment; stop it all."""
    svc = net.add_host("svc", addresses=2)
    web_hosts = [net.add_host("web1"), net.add_host("web2")]
    worker_hosts = [net.add_host("wrk1"), net.add_host("wrk2")]
    (run_dir / "s3").mkdir()
    postgres = PostgresServer(run_dir, host=svc.address, wrap=svc.wrap)
    redis_server = RedisServer(
        run_dir, host=svc.addresses[1], wrap=svc.wrap, password=secrets.token_urlsafe(16)
    )
    with contextlib.ExitStack() as running:
        running.enter_context(_started(postgres))
        running.enter_context(_started(redis_server))
        s3 = running.enter_context(seaweedfs(run_dir / "s3", host=svc.address, wrap=svc.wrap))
        for bucket in BUCKETS:
            s3_client(s3).create_bucket(Bucket=bucket)
        database_url = postgres.create_database("tapesite")
        env = production_env(
            database_url=database_url,
            redis_url=redis_server.url,
            s3=s3,
            DJANGO_ALLOWED_HOSTS=",".join(host.address for host in web_hosts),
            TAPES_SITE_URL=f"http://{web_hosts[0].address}",
            **settings,
        )
        manage(env, "migrate", "--noinput")
        webs = []
        for host in web_hosts:
            web = Gunicorn(env, run_dir / f"{host.name}.log", host=host.address, wrap=host.wrap)
            running.callback(web.stop)
            web.start()
            webs.append(web)
        clock = Clock()
        workers = [WorkerHost(h, env, run_dir / f"{h.name}.log", clock) for h in worker_hosts]
        stopping = threading.Event()

        def supervise() -> None:
            while not stopping.is_set():
                for host in workers:
                    host.poll(stopping.is_set())
                time.sleep(0.05)

        def stop_workers() -> None:
            stopping.set()
            supervisor.join(timeout=10)
            for host in workers:
                host.stop()

        supervisor = threading.Thread(target=supervise, daemon=True)
        supervisor.start()
        running.callback(stop_workers)
        nodes = [Node(h.name, web.url) for h, web in zip(web_hosts, webs, strict=True)]
        yield TwoNodeSite(svc, redis_server, s3, database_url, webs, nodes, workers, clock)


def keep_logs(run_dir: Path, keep: Path) -> None:
    """Copy a run's logs to where pytest keeps a test's files (``run_dir`` is removed)."""
    for log in sorted(run_dir.rglob("*.log")):
        shutil.copy(log, keep / log.name)
