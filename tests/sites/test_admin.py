"""Registering sites in the admin: the list with its tapes of the last day, search, and adding
a site through the services (normalised origin, the buckets' CORS job queued)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from sites.models import Site
from tapes.models import Tape
from tapes.queueing import BUCKETS_CORS
from tests.sites.factories import SiteFactory
from tests.tapes.factories import TapeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, django_user_model: Any) -> Client:
    boss = django_user_model.objects.create_superuser(username="boss", password="pw")
    client.force_login(boss)
    return client


def test_the_list_counts_each_sites_tapes_of_the_last_day(admin_client: Client) -> None:
    busy = SiteFactory.create(name="Busy pieces", origin="https://busy.example")
    SiteFactory.create(name="Quiet pieces", origin="https://quiet.example")
    for _ in range(3):
        TapeFactory.create(site=busy, origin=busy.origin)
    old = TapeFactory.create(site=busy, origin=busy.origin)
    Tape.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    listed = admin_client.get("/admin/sites/site/")
    assert listed.status_code == 200
    rows = {row.name: row for row in listed.context["cl"].result_list}
    assert rows["Busy pieces"]._tapes_last_day == 3
    assert rows["Quiet pieces"]._tapes_last_day == 0
    assert b"in 24 h" in listed.content  # the column

    found = admin_client.get("/admin/sites/site/", {"q": "quiet.example"})
    assert [site.name for site in found.context["cl"].result_list] == ["Quiet pieces"]


def test_adding_a_site_normalises_it_and_queues_the_cors_job(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    form = {
        "origin": "HTTPS://New.Example/",
        "name": "New pieces",
        "active": "on",
        "guest_owner": "",
        "tapes_per_day": "0",
        "bytes_per_day": "0",
        "posts_per_minute": "10",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/sites/site/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    site = Site.objects.get()
    assert (site.origin, site.posts_per_minute) == ("https://new.example", 10)
    assert BUCKETS_CORS.job_id(0) in django_rq.get_queue(BUCKETS_CORS.queue).job_ids


def test_staff_registering_suspending_and_removing_a_site_is_audited(
    admin_client: Client,
) -> None:
    form = {
        "origin": "https://new.example",
        "name": "New pieces",
        "active": "on",
        "guest_owner": "",
        "tapes_per_day": "0",
        "bytes_per_day": "0",
        "posts_per_minute": "0",
    }
    assert admin_client.post("/admin/sites/site/add/", form).status_code == 302
    site = Site.objects.get()
    # Unticking "active" suspends it; the entry says from what to what.
    suspended = {**form, "posts_per_minute": "5"}
    del suspended["active"]
    changed = admin_client.post(f"/admin/sites/site/{site.pk}/change/", suspended)
    assert changed.status_code == 302
    assert admin_client.post(f"/admin/sites/site/{site.pk}/delete/", {"post": "yes"}).status_code
    assert not Site.objects.exists()

    entries = list(AuditEntry.objects.order_by("id"))
    assert [entry.action for entry in entries] == [
        AuditAction.SITE_REGISTER,
        AuditAction.SITE_CHANGE,
        AuditAction.SITE_REMOVE,
    ]
    assert {entry.actor_name for entry in entries} == {"boss"}
    assert {entry.target_id for entry in entries} == {str(site.pk)}
    assert entries[0].details["origin"] == "https://new.example"
    assert entries[1].details == {"active": [True, False], "posts_per_minute": [0, 5]}
    assert entries[2].details["active"] is False


def test_a_path_is_refused_with_a_reason(admin_client: Client) -> None:
    form = {
        "origin": "https://new.example/pieces",
        "name": "New",
        "tapes_per_day": "0",
        "bytes_per_day": "0",
        "posts_per_minute": "0",
    }
    response = admin_client.post("/admin/sites/site/add/", form)
    assert response.status_code == 200
    assert "no path" in str(response.context["adminform"].form.errors["origin"])
    assert not Site.objects.exists()


def test_a_tapes_admin_page_shows_its_provenance_and_filters_by_site(
    admin_client: Client,
) -> None:
    site = SiteFactory.create(name="Pieces", origin="https://pieces.example")
    tape = TapeFactory.create(
        site=site, origin=site.origin, piece_url="https://pieces.example/q", seed="42"
    )
    other = TapeFactory.create()
    page = admin_client.get(f"/admin/tapes/tape/{tape.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Provenance" in content and "https://pieces.example/q" in content
    listed = admin_client.get("/admin/tapes/tape/", {"site__id__exact": site.pk})
    codes = [row.code for row in listed.context["cl"].result_list]
    assert codes == [tape.code] and other.code not in codes
