"""The federation app's metrics source for ``/metrics``: records that need staff, counted from
the database at scrape time. Registered with ``ops.metrics`` in ``FederationConfig.ready()``."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from federation.models import FederationState, TapeFederation

# Always reported (0 when none), so an alert can compare against them from the first scrape.
STAFF_CODES = ("record_delete_failed", "federation_stuck")


class FederationCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        failed = GaugeMetricFamily(
            "tapesite_federation_failed",
            "Tape records whose federation failed, by code and operation (write, or delete for "
            "a nuked tape). record_delete_failed and federation_stuck wait for staff (the "
            "tapes admin's federation filter).",
            labels=["code", "operation"],
        )
        rows = (
            TapeFederation.objects.filter(state=FederationState.FAILED)
            .values_list("code", "wanted")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts = {
            (code or "unknown", "write" if wanted else "delete"): n for code, wanted, n in rows
        }
        for code in STAFF_CODES:
            operation = "delete" if code == "record_delete_failed" else "write"
            counts.setdefault((code, operation), 0)
        for (code, operation), n in sorted(counts.items()):
            failed.add_metric([code, operation], n)
        abandoned = GaugeMetricFamily(
            "tapesite_federation_deletes_abandoned",
            "Nuked tapes whose record staff left on its PDS (record_delete_abandoned).",
        )
        abandoned.add_metric(
            [], TapeFederation.objects.filter(code="record_delete_abandoned").count()
        )
        yield failed
        yield abandoned
