"""The tapes app's metrics source for ``/metrics``: totals the database knows exactly, counted at
scrape time. Registered with ``ops.metrics`` in ``TapesConfig.ready()``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Count, Value, When
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tapes.models import Tape, TapeStatus


class DatabaseCollector(Collector):
    """Totals the database knows exactly, counted at scrape time."""

    def collect(self) -> Iterator[Metric]:
        posted = CounterMetricFamily(
            "tapesite_tapes_posted",
            "Tapes ever posted. Rows are never deleted (a nuke is soft), so it only grows.",
        )
        tapes = GaugeMetricFamily(
            "tapesite_tapes",
            "Tapes now, by status, nuked and kind (guest or user: a claimed guest tape becomes "
            "a user's).",
            labels=["status", "nuked", "kind"],
        )
        kind = Case(When(user__isnull=True, then=Value("guest")), default=Value("user"))
        rows = (
            Tape.objects.annotate(kind=kind)
            .values_list("status", "nuked", "kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts = {(str(s), "true" if nuked else "false", str(k)): n for s, nuked, k, n in rows}
        for status in TapeStatus.values:
            for nuked in ("false", "true"):
                for owner in ("guest", "user"):
                    labels = (status, nuked, owner)
                    tapes.add_metric(list(labels), counts.get(labels, 0))
        posted.add_metric([], sum(counts.values()))

        stuck = GaugeMetricFamily(
            "tapesite_tapes_stuck",
            "Visible tapes that have not moved for TAPES_STUCK_AFTER_SECONDS: uploaded and never "
            "queued, or queued/processing with no progress. The reconcile step requeues them.",
            labels=["status"],
        )
        cutoff = timezone.now() - timedelta(seconds=int(settings.TAPES_STUCK_AFTER_SECONDS))
        waiting = [TapeStatus.UPLOADED, TapeStatus.QUEUED, TapeStatus.PROCESSING]
        stuck_rows = dict(
            Tape.objects.filter(nuked=False, status__in=waiting, updated_at__lte=cutoff)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for status in waiting:
            stuck.add_metric([str(status)], stuck_rows.get(status, 0))
        yield posted
        yield tapes
        yield stuck
