"""Prometheus metrics that stay correct across gunicorn workers, RQ work horses and machines.

Events (an encode finished, a record was federated) are counted in the shared Redis, not in
process memory: RQ forks a new work horse per job, so per-process counters would die with each
job, and prometheus-client's multiprocess mode would leave one file per job behind. Totals that
the database already knows (tapes posted, tapes by status, stuck tapes) are counted from it at
scrape time, so they are exact and survive a Redis flush. Queue depth comes from django-rq's
collector, which reads Redis at scrape time too. Any node answers ``/metrics`` with the site-wide
figures, so Prometheus needs one target (the load balancer), not one per process.

Writes never raise: a metric lost while Redis is down must not fail an encode.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import redis
from prometheus_client.core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from ops.health import redis_client, redis_url

logger = logging.getLogger(__name__)

_PREFIX = "tapesite:metrics:"
_WRITE_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class HistogramSpec:
    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]

    @property
    def key(self) -> str:
        return f"{_PREFIX}h:{self.name}"


ENCODE_SECONDS = HistogramSpec(
    "tapesite_encode_duration_seconds",
    "Encode attempts by outcome (ready, retry, failed) and code (ok or the failure code).",
    ("outcome", "code"),
    (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
FEDERATION_SECONDS = HistogramSpec(
    "tapesite_federation_duration_seconds",
    "Federation attempts (PDS record writes and deletes) by operation, outcome and code.",
    ("operation", "outcome", "code"),
    (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
HISTOGRAMS = (ENCODE_SECONDS, FEDERATION_SECONDS)

_writers: dict[str, redis.Redis] = {}


def _writer() -> redis.Redis:
    url = redis_url()
    client = _writers.get(url)
    if client is None:
        client = _writers[url] = redis.Redis.from_url(
            url,
            socket_connect_timeout=_WRITE_TIMEOUT_SECONDS,
            socket_timeout=_WRITE_TIMEOUT_SECONDS,
        )
    return client


def _field(values: Sequence[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def observe(spec: HistogramSpec, seconds: float, **labels: str) -> None:
    """Record one observation of ``spec`` with these labels, site-wide."""
    if set(labels) != set(spec.labels):
        raise ValueError(f"{spec.name} takes labels {spec.labels}, not {tuple(labels)}")
    field = _field([str(labels[name]) for name in spec.labels])
    try:
        pipe = _writer().pipeline(transaction=False)
        for bound in spec.buckets:
            if seconds <= bound:
                pipe.hincrby(spec.key, f"{field}|{bound}", 1)
        pipe.hincrby(spec.key, f"{field}|+Inf", 1)
        pipe.hincrbyfloat(spec.key, f"{field}|sum", seconds)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("metric %s not recorded (Redis unreachable): %s", spec.name, exc)


def observe_encode(*, seconds: float, outcome: str, code: str = "ok") -> None:
    observe(ENCODE_SECONDS, seconds, outcome=outcome, code=code or "ok")


def observe_federation(*, seconds: float, operation: str, outcome: str, code: str = "ok") -> None:
    observe(FEDERATION_SECONDS, seconds, operation=operation, outcome=outcome, code=code or "ok")


def _histogram_family(spec: HistogramSpec, raw: dict[bytes, bytes]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    series: dict[str, dict[str, float]] = {}
    for key, value in raw.items():
        field, _, part = key.decode().rpartition("|")
        series.setdefault(field, {})[part] = float(value)
    for field, parts in sorted(series.items()):
        buckets = [(floatToGoString(bound), parts.get(str(bound), 0.0)) for bound in spec.buckets]
        buckets.append(("+Inf", parts.get("+Inf", 0.0)))
        family.add_metric(json.loads(field), buckets, parts.get("sum", 0.0))
    return family


class RedisEventCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        pipe = redis_client(redis_url()).pipeline(transaction=False)
        for spec in HISTOGRAMS:
            pipe.hgetall(spec.key)
        raws = pipe.execute()
        for spec, raw in zip(HISTOGRAMS, raws, strict=True):
            yield _histogram_family(spec, raw)


class QueueCollector(Collector):
    """Queue depth and workers, from django-rq's own collector (rq_jobs, rq_workers...)."""

    def collect(self) -> Iterator[Metric]:
        from django_rq.contrib.prometheus import RQCollector

        assert RQCollector is not None  # prometheus-client is a dependency
        yield from RQCollector().collect()


class Guarded(Collector):
    """One broken source (Redis down) must not blank the whole scrape: its metrics are left out
    and ``tapesite_metrics_source_up`` says which source failed."""

    def __init__(self, sources: dict[str, Collector]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "tapesite_metrics_source_up",
            "1 if the source of these metrics answered this scrape, 0 if it failed.",
            labels=["source"],
        )
        for name, source in self.sources.items():
            try:
                families: Iterable[Metric] = list(source.collect())
            except Exception as exc:  # Redis or the database down: report, don't fail the scrape
                logger.warning("metrics source %s failed: %s", name, exc)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


# Sources the apps add (the tapes app: its totals from the database), in their AppConfig.ready():
# ops knows no app.
_app_sources: dict[str, Collector] = {}


def source_register(name: str, collector: Collector) -> None:
    """Scrape ``collector`` too, guarded like the built-in sources; a name again replaces it."""
    _app_sources[name] = collector


def registry() -> CollectorRegistry:
    built = CollectorRegistry(auto_describe=False)
    built.register(
        Guarded({**_app_sources, "events": RedisEventCollector(), "queues": QueueCollector()})
    )
    return built


def render(accept: str = "") -> tuple[bytes, str]:
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept)
    return encoder(registry()), content_type
