"""The jobs dashboard (django-rq) is for staff only, and linked from the admin index."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/django-rq/", "/django-rq/queues/0/", "/django-rq/workers/0/"]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_cannot_open_the_jobs_dashboard(client: Any, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("page", PAGES)
def test_signed_in_non_staff_cannot_open_it(client: Any, user: Any, page: str) -> None:
    client.force_login(user)
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("page", PAGES)
def test_staff_open_it(client: Any, staff: Any, page: str) -> None:
    client.force_login(staff)
    assert client.get(page).status_code == 200


def test_django_rq_metrics_are_not_public(client: Any) -> None:
    # django-rq adds its own metrics view once prometheus-client is installed.
    assert client.get("/django-rq/metrics/").status_code == 401


def test_admin_index_links_the_dashboard(client: Any, staff: Any) -> None:
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b'id="jobs-dashboard-link"' in response.content
    assert b'href="/django-rq/"' in response.content
