"""/metrics: site-wide figures whichever process (or machine) recorded them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ops import metrics
from tapes.models import Tape, TapeStatus
from tests.support.services import RedisServer
from tests.tapes.factories import TapeFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me-" + "x" * 20


@pytest.fixture
def scrape(client: Any, settings: Any) -> Any:
    settings.TAPES_METRICS_TOKEN = TOKEN

    def get() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(response.content.decode()):
            # Labels are keyed sorted by name, "le" included.
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    return get


def test_metrics_need_the_token_or_staff(client: Any, settings: Any, user: Any, staff: Any) -> None:
    settings.TAPES_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 401
    # No token configured: no bearer value opens it, not even an empty one.
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    settings.TAPES_METRICS_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    client.force_login(user)
    assert client.get("/metrics").status_code == 401
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


def test_tapes_posted_by_status_and_stuck(scrape: Any, user: Any) -> None:
    TapeFactory.create()
    TapeFactory.create(user=user, status=TapeStatus.READY)
    TapeFactory.create(user=user, status=TapeStatus.READY, nuked=True)
    stuck = TapeFactory.create(status=TapeStatus.PROCESSING)
    Tape.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    TapeFactory.create(status=TapeStatus.PROCESSING)  # moving: not stuck
    samples = scrape()
    assert samples[("tapesite_tapes_posted_total", ())] == 5

    def now(status: str, nuked: str, kind: str) -> float:
        labels = (("kind", kind), ("nuked", nuked), ("status", status))
        return samples[("tapesite_tapes", labels)]

    assert now("ready", "false", "user") == 1
    assert now("ready", "true", "user") == 1
    assert now("processing", "false", "guest") == 2
    assert now("uploaded", "false", "guest") == 1
    assert now("failed", "false", "guest") == 0
    assert samples[("tapesite_tapes_stuck", (("status", "processing"),))] == 1
    assert samples[("tapesite_tapes_stuck", (("status", "queued"),))] == 0


def test_queue_depth(scrape: Any) -> None:
    queue = django_rq.get_queue("encode")
    queue.enqueue("tapes.jobs.encode_tape", 1)
    queue.enqueue("tapes.jobs.encode_tape", 2)
    samples = scrape()
    assert samples[("rq_jobs", (("queue", "encode"), ("status", "queued")))] == 2
    assert samples[("rq_jobs", (("queue", "default"), ("status", "queued")))] == 0


def _with_le(labels: tuple[tuple[str, str], ...], le: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((*labels, ("le", le))))


_OBSERVE = """
import django
django.setup()
from ops import metrics
metrics.observe_encode(seconds=3.0, outcome="ready")
metrics.observe_encode(seconds=45.0, outcome="failed", code="archive_not_zip")
metrics.observe_federation(seconds=0.2, operation="create", outcome="ok")
"""


def test_events_from_other_processes_add_up(scrape: Any) -> None:
    # Three separate processes (as gunicorn workers or RQ work horses are) record events;
    # this process, which recorded none, reports their sum.
    for _ in range(3):
        subprocess.run([sys.executable, "-c", _OBSERVE], check=True, env=os.environ.copy())
    samples = scrape()
    ready = (("code", "ok"), ("outcome", "ready"))
    failed = (("code", "archive_not_zip"), ("outcome", "failed"))
    assert samples[("tapesite_encode_duration_seconds_count", ready)] == 3
    assert samples[("tapesite_encode_duration_seconds_sum", ready)] == pytest.approx(9.0)
    assert samples[("tapesite_encode_duration_seconds_bucket", _with_le(ready, "2.0"))] == 0
    assert samples[("tapesite_encode_duration_seconds_bucket", _with_le(ready, "5.0"))] == 3
    assert samples[("tapesite_encode_duration_seconds_bucket", _with_le(failed, "30.0"))] == 0
    assert samples[("tapesite_encode_duration_seconds_bucket", _with_le(failed, "+Inf"))] == 3
    federated = (("code", "ok"), ("operation", "create"), ("outcome", "ok"))
    assert samples[("tapesite_federation_duration_seconds_count", federated)] == 3


def test_a_redis_outage_blanks_only_what_lives_in_redis(
    scrape: Any, private_redis: RedisServer
) -> None:
    metrics.observe_encode(seconds=1.0, outcome="ready")
    TapeFactory.create()
    assert scrape()[("tapesite_metrics_source_up", (("source", "events"),))] == 1
    private_redis.stop()
    # Recording during the outage loses the event but never raises into the encode job.
    metrics.observe_encode(seconds=1.0, outcome="ready")
    samples = scrape()
    assert samples[("tapesite_metrics_source_up", (("source", "events"),))] == 0
    assert samples[("tapesite_metrics_source_up", (("source", "queues"),))] == 0
    assert samples[("tapesite_metrics_source_up", (("source", "database"),))] == 1
    assert samples[("tapesite_tapes_posted_total", ())] == 1


def test_observe_refuses_wrong_labels() -> None:
    with pytest.raises(ValueError, match="labels"):
        metrics.observe(metrics.ENCODE_SECONDS, 1.0, outcome="ready")
