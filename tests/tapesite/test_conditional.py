"""tapesite.conditional on its own: when a read is answered 304 without rendering it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone
from django.utils.http import http_date

from tapesite.conditional import Validators, conditional_response, validators_for

HOUR_AGO = (timezone.now() - timedelta(hours=1)).replace(microsecond=250_000)


def answer(validators: Validators, method: str = "get", **headers: str) -> tuple[int, int]:
    """(status, how many times the body was rendered)."""
    rendered: list[int] = []

    def render() -> HttpResponse:
        rendered.append(1)
        return HttpResponse("body")

    request = getattr(RequestFactory(), method)("/x", headers=headers)
    response = conditional_response(
        request, validators=validators, render=render, max_age=60, vary=["Accept"]
    )
    assert response["ETag"] == validators.etag
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["Vary"] == "Accept"
    return response.status_code, len(rendered)


def test_the_tag_follows_every_part_to_the_microsecond() -> None:
    one = validators_for(3, HOUR_AGO, last_modified=HOUR_AGO)
    assert one == validators_for(3, HOUR_AGO, last_modified=HOUR_AGO)
    assert one.etag != validators_for(4, HOUR_AGO, last_modified=HOUR_AGO).etag
    later = HOUR_AGO + timedelta(microseconds=1)
    assert one.etag != validators_for(3, later, last_modified=later).etag
    assert one.etag.startswith('"') and one.etag.endswith('"')


def test_a_matching_tag_or_date_skips_the_rendering() -> None:
    v = validators_for("v1", last_modified=HOUR_AGO)
    date = http_date(HOUR_AGO.timestamp())
    assert answer(v) == (200, 1)
    assert answer(v, If_None_Match=v.etag) == (304, 0)
    assert answer(v, If_None_Match=f'"a", W/{v.etag}') == (304, 0)
    assert answer(v, If_None_Match="*") == (304, 0)
    assert answer(v, "head", If_None_Match=v.etag) == (304, 0)
    assert answer(v, If_Modified_Since=date) == (304, 0)
    assert answer(v, If_Modified_Since=http_date(HOUR_AGO.timestamp() + 60)) == (304, 0)
    assert answer(v, If_Modified_Since=http_date(HOUR_AGO.timestamp() - 1)) == (200, 1)
    assert answer(v, If_Modified_Since="not a date") == (200, 1)
    # The tag, when sent, decides alone.
    assert answer(v, If_None_Match='"other"', If_Modified_Since=date) == (200, 1)
    # Writes are never answered from a client's copy.
    assert answer(v, "post", If_None_Match=v.etag) == (200, 1)


def test_no_date_while_the_newest_change_is_in_this_second() -> None:
    now = datetime.now(UTC)
    v = validators_for("v2", last_modified=now)
    request = RequestFactory().get("/x", headers={"If-Modified-Since": http_date(now.timestamp())})
    response = conditional_response(
        request, validators=v, render=lambda: HttpResponse("x"), max_age=5
    )
    assert response.status_code == 200 and not response.has_header("Last-Modified")
    assert not response.has_header("Vary")
