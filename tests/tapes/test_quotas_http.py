"""Posting quotas through HTTP: the 429's code, details, message and Retry-After at both doors
(POST /api/tapes/uploads and POST /api/tapes), and a guest's address as the throttles see it,
so X-Forwarded-For names nobody unless a trusted proxy wrote it."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from tapes.models import TapeUpload
from tests.conftest import send_form, tiny_zip

pytestmark = pytest.mark.django_db


def start(api: Any, size: int = 100, **headers: str) -> Any:
    return api.post("/api/tapes/uploads", {"piece": "q", "bytes": size}, format="json", **headers)


def assert_quota_429(response: Any, limit: str) -> dict[str, Any]:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["message"]
    details = error["details"]
    assert details["limit"] == limit
    resets_at = datetime.fromisoformat(details["resets_at"])
    assert resets_at > timezone.now()
    assert int(response["Retry-After"]) == details["retry_after"]
    assert math.isclose(
        details["retry_after"], (resets_at - timezone.now()).total_seconds(), abs_tol=5
    )
    return dict(details)


def test_the_upload_start_answers_429_with_when_it_resets(api: Any, settings: Any) -> None:
    settings.TAPES_QUOTA_GUEST_BYTES_PER_DAY = 1500
    assert start(api, 1000).status_code == 201
    details = assert_quota_429(start(api, 1000), "bytes_per_day")
    assert (details["used"], details["max"], details["poster"]) == (1000, 1500, "guest")
    assert start(api, 500).status_code == 201  # what still fits is fine


def test_registering_answers_429_too(api: Any, settings: Any) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    body = tiny_zip()
    ticket = start(api, len(body)).json()
    assert send_form(api, ticket["upload"], body).status_code == 204
    # Its form expired while another start took the day's only tape.
    TapeUpload.objects.filter(slug=ticket["slug"]).update(expires_at=timezone.now())
    assert start(api).status_code == 201
    posting = {"slug": ticket["slug"], "upload_token": ticket["upload_token"]}
    assert_quota_429(api.post("/api/tapes", posting, format="json"), "tapes_per_day")


def test_a_forwarded_for_header_does_not_make_a_new_guest(api: Any, settings: Any) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    assert start(api, REMOTE_ADDR="203.0.113.5").status_code == 201
    spoofed = start(api, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert_quota_429(spoofed, "tapes_per_day")
    assert start(api, REMOTE_ADDR="203.0.113.6").status_code == 201


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_guest(api: Any, settings: Any) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"
    assert start(api, HTTP_X_FORWARDED_FOR="192.0.2.1", REMOTE_ADDR=proxy).status_code == 201
    # What the client put in front of the proxy's own entry does not count.
    again = start(api, HTTP_X_FORWARDED_FOR="198.51.100.1, 192.0.2.1", REMOTE_ADDR=proxy)
    assert_quota_429(again, "tapes_per_day")
    assert start(api, HTTP_X_FORWARDED_FOR="192.0.2.2", REMOTE_ADDR=proxy).status_code == 201
    assert set(TapeUpload.objects.values_list("client", flat=True)) == {"192.0.2.1", "192.0.2.2"}


def test_a_signed_in_user_is_counted_as_themselves(api: Any, settings: Any, user: Any) -> None:
    settings.TAPES_QUOTA_USER_TAPES_PER_DAY = 1
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    api.force_login(user)
    assert start(api).status_code == 201
    details = assert_quota_429(start(api), "tapes_per_day")
    assert details["poster"] == "user"
    api.logout()
    assert start(api).status_code == 201  # the address's guest allowance is its own
