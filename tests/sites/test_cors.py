"""CORS on /api/tapes* through HTTP: what a page on another origin gets, registered or not,
suspended, preflighted, and what Tapesite's own pages get."""

from __future__ import annotations

from typing import Any

import pytest

from tapes.models import TapeUpload
from tests.conftest import send_form, tiny_zip
from tests.sites.factories import SiteFactory

pytestmark = pytest.mark.django_db

ORIGIN = "https://pieces.example"


def start(api: Any, origin: str | None = ORIGIN, **extra: Any) -> Any:
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    body = {"piece": "q", "bytes": len(tiny_zip())}
    return api.post("/api/tapes/uploads", body, format="json", **headers, **extra)


def test_a_registered_origin_gets_its_origin_back_and_no_credentials(api: Any) -> None:
    SiteFactory(origin=ORIGIN)
    response = start(api)
    assert response.status_code == 201, response.content
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response["Vary"]
    assert "Access-Control-Allow-Credentials" not in response
    assert TapeUpload.objects.get().site is not None


def test_an_unregistered_origin_is_refused_readably_and_nothing_is_made(api: Any) -> None:
    response = start(api, "https://stranger.example")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "origin_not_registered"
    assert "https://stranger.example" in error["message"] and "registered" in error["message"]
    # The refusal carries the origin, so the calling page can read why.
    assert response["Access-Control-Allow-Origin"] == "https://stranger.example"
    assert not TapeUpload.objects.exists()


def test_reads_from_an_unregistered_origin_are_refused_too(api: Any) -> None:
    response = api.get("/api/tapes", HTTP_ORIGIN="https://stranger.example")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_registered"


def test_a_suspended_site_is_refused_with_its_own_code(api: Any) -> None:
    SiteFactory(origin=ORIGIN, name="Pieces", active=False)
    response = start(api)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "site_suspended"
    assert "Pieces" in error["message"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert not TapeUpload.objects.exists()


@pytest.mark.parametrize("registered", [True, False])
def test_preflights_are_answered_for_any_origin(api: Any, registered: bool) -> None:
    origin = ORIGIN if registered else "https://stranger.example"
    if registered:
        SiteFactory(origin=ORIGIN)
    response = api.options(
        "/api/tapes/uploads",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Methods"] == "GET, POST"
    assert response["Access-Control-Allow-Headers"] == "Content-Type, Authorization"
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response
    assert "Origin" in response["Vary"]


def test_the_sites_own_origin_is_never_foreign(api: Any, settings: Any) -> None:
    settings.TAPES_SITE_URL = "https://tapes.example"
    # The request's own host (the test client's "testserver"), unregistered.
    response = start(api, "http://testserver")
    assert response.status_code == 201
    assert "Access-Control-Allow-Origin" not in response
    # And the configured public address.
    assert start(api, "https://tapes.example").status_code == 201
    assert TapeUpload.objects.filter(site__isnull=True).count() == 2


def test_requests_without_an_origin_are_left_alone(api: Any) -> None:
    response = start(api, None)
    assert response.status_code == 201
    assert "Access-Control-Allow-Origin" not in response
    assert "Origin" in response["Vary"]


def test_origin_matching_ignores_case_and_the_default_port(api: Any) -> None:
    SiteFactory(origin=ORIGIN)
    response = start(api, "https://Pieces.Example:443")
    assert response.status_code == 201
    # The browser's own spelling comes back: it compares byte for byte.
    assert response["Access-Control-Allow-Origin"] == "https://Pieces.Example:443"


def test_other_api_paths_get_no_cors(api: Any) -> None:
    response = api.get("/api/me", HTTP_ORIGIN="https://stranger.example")
    assert "Access-Control-Allow-Origin" not in response


def test_the_local_upload_endpoint_has_cors_for_registered_sites(api: Any) -> None:
    SiteFactory(origin=ORIGIN)
    ticket = start(api).json()
    form = ticket["upload"]
    assert form["url"].startswith("http://testserver/api/tapes/uploads/local")
    preflight = api.options(
        form["url"], HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight["Access-Control-Allow-Origin"] == ORIGIN
    api.credentials(HTTP_ORIGIN=ORIGIN)
    response = send_form(api, form, tiny_zip())
    assert response.status_code == 204, response.content
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    api.credentials(HTTP_ORIGIN="https://stranger.example")
    refused = send_form(api, form, tiny_zip())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_registered"
    assert refused["Access-Control-Allow-Origin"] == "https://stranger.example"


def test_errors_from_the_api_still_carry_cors(api: Any) -> None:
    SiteFactory(origin=ORIGIN)
    response = api.get("/api/tapes/nosuch", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == ORIGIN
