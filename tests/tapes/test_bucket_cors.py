"""The buckets' CORS follows the registered sites, on the real SeaweedFS: tapes_storage_setup
puts every active site's origin in, and a change to the sites queues the job that applies it
again (here run in-process, as the worker would run it)."""

from __future__ import annotations

import io
from typing import Any

import django_rq
import pytest
from django.core.management import call_command

from sites import services as site_services
from tapes.jobs import apply_buckets_cors
from tapes.queueing import BUCKETS_CORS
from tapes.services import tapes_reconcile
from tapes.services.buckets import buckets_cors_reconcile
from tapes.storage import bucket_cors_allowed
from tests.sites.factories import SiteFactory
from tests.support.buckets import use_own_buckets

pytestmark = pytest.mark.django_db

OWN = "http://127.0.0.1:8000"


@pytest.fixture
def buckets(s3_storage: Any, settings: Any) -> Any:
    """Buckets of this module's own, so the rules it writes touch no other test's."""
    settings.TAPES_SITE_URL = OWN
    return use_own_buckets(settings, user="cors-user", guest="cors-guest")


def allowed(client: Any, bucket: str) -> list[str]:
    rules = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert len(rules) == 1
    assert {"POST", "GET"} <= set(rules[0]["AllowedMethods"])
    return list(rules[0]["AllowedOrigins"])


def test_setup_applies_the_registered_active_sites(buckets: Any) -> None:
    SiteFactory(origin="https://a.example")
    SiteFactory(origin="https://b.example:8443")
    SiteFactory(origin="https://off.example", active=False)
    out = io.StringIO()
    call_command("tapes_storage_setup", "--cors-origin", "https://extra.example", stdout=out)
    expected = [OWN, "https://extra.example", "https://a.example", "https://b.example:8443"]
    for bucket in ("cors-user", "cors-guest"):
        assert allowed(buckets, bucket) == expected
    assert "CORS for" in out.getvalue()


def test_saving_a_site_queues_the_job_that_reapplies_cors(
    buckets: Any, django_capture_on_commit_callbacks: Any
) -> None:
    call_command("tapes_storage_setup", stdout=io.StringIO())
    assert allowed(buckets, "cors-guest") == [OWN]
    queue = django_rq.get_queue(BUCKETS_CORS.queue)

    with django_capture_on_commit_callbacks(execute=True):
        site = site_services.site_create(origin="https://New.Example/", name="New")
    assert BUCKETS_CORS.job_id(0) in queue.job_ids
    apply_buckets_cors(0)
    assert allowed(buckets, "cors-guest") == [OWN, "https://new.example"]

    queue.empty()
    with django_capture_on_commit_callbacks(execute=True):
        site_services.site_suspend(site=site)
    assert BUCKETS_CORS.job_id(0) in queue.job_ids
    apply_buckets_cors(0)
    assert allowed(buckets, "cors-user") == [OWN]


def test_a_change_whose_job_never_ran_is_mended_by_the_reconcile_sweep(buckets: Any) -> None:
    # Staff saved a site while Redis was down: no job was queued, the buckets still say [OWN].
    call_command("tapes_storage_setup", stdout=io.StringIO())
    SiteFactory(origin="https://late.example")
    assert allowed(buckets, "cors-guest") == [OWN]

    report = tapes_reconcile()
    assert sorted(report.buckets_cors_mended) == ["cors-guest", "cors-user"]
    assert report.moved
    for bucket in ("cors-guest", "cors-user"):
        assert allowed(buckets, bucket) == [OWN, "https://late.example"]
    # Once right, the sweep only reads them.
    assert tapes_reconcile().buckets_cors_mended == []


def test_a_bucket_without_any_cors_rule_is_given_one(buckets: Any) -> None:
    call_command("tapes_storage_setup", stdout=io.StringIO())
    buckets.delete_bucket_cors(Bucket="cors-user")
    assert bucket_cors_allowed(bucket="cors-user") == []
    assert buckets_cors_reconcile() == ["cors-user"]
    assert allowed(buckets, "cors-user") == [OWN]


def test_an_origin_allowed_by_hand_is_no_reason_to_rewrite_the_rule(buckets: Any) -> None:
    call_command(
        "tapes_storage_setup", "--cors-origin", "https://by-hand.example", stdout=io.StringIO()
    )
    assert buckets_cors_reconcile() == []
    assert allowed(buckets, "cors-guest") == [OWN, "https://by-hand.example"]
