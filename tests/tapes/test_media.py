"""A tape's files from local storage answer byte ranges, so a browser can seek in the video (and
Safari on iPhones plays it at all); from S3 the redirect's target does the same."""

from __future__ import annotations

from typing import Any

import pytest
import requests

pytestmark = pytest.mark.django_db

CONTENT = bytes(range(256)) * 400  # 102400 bytes, every offset telling


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def media_url(make_tape: Any) -> str:
    tape = make_tape(zip_content=CONTENT)
    return f"/api/tapes/{tape.code}/media/zip"


def test_the_whole_file_says_it_takes_ranges(api: Any, media_url: str) -> None:
    response = api.get(media_url)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(CONTENT))
    assert response["Content-Type"] == "application/zip"
    assert response.has_header("ETag") and response.has_header("Last-Modified")
    # A ready public tape's file: shared caches may keep it briefly (tests/tapes/test_caching.py).
    assert response["Cache-Control"].startswith("public, ")
    assert _body(response) == CONTENT


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=100000-", 100000, 102399),
        ("bytes=-10", 102390, 102399),
        ("bytes=102000-999999", 102000, 102399),
        ("bytes=0-", 0, 102399),  # what a browser's video asks first
    ],
)
def test_a_range_is_a_206_with_just_those_bytes(
    api: Any, media_url: str, header: str, start: int, end: int
) -> None:
    response = api.get(media_url, HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(CONTENT)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "application/zip"
    assert _body(response) == CONTENT[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=102400-", "bytes=200000-300000", "bytes=-0"])
def test_bytes_past_the_end_are_a_416(api: Any, media_url: str, header: str) -> None:
    response = api.get(media_url, HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(CONTENT)}"
    assert response["Accept-Ranges"] == "bytes"
    assert response.json()["error"]["code"] == "range_not_satisfiable"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=oops", "lines=1-2", "bytes=9-3"])
def test_several_or_malformed_ranges_get_the_whole_file(
    api: Any, media_url: str, header: str
) -> None:
    response = api.get(media_url, HTTP_RANGE=header)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert _body(response) == CONTENT


def test_if_range_applies_the_range_only_to_the_same_file(api: Any, media_url: str) -> None:
    whole = api.get(media_url)
    etag, modified = whole["ETag"], whole["Last-Modified"]
    for same in (etag, modified):
        response = api.get(media_url, HTTP_RANGE="bytes=5-9", HTTP_IF_RANGE=same)
        assert response.status_code == 206, same
        assert _body(response) == CONTENT[5:10]
    for stale in ('"0-0"', f"W/{etag}", "Thu, 01 Jan 1970 00:00:00 GMT"):
        response = api.get(media_url, HTTP_RANGE="bytes=5-9", HTTP_IF_RANGE=stale)
        assert response.status_code == 200, stale
        assert _body(response) == CONTENT


def test_the_admin_serves_ranges_too(client: Any, make_tape: Any, moderator: Any) -> None:
    tape = make_tape(zip_content=CONTENT)
    client.force_login(moderator)
    response = client.get(f"/admin/tapes/tape/{tape.pk}/media/zip/", HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206
    assert _body(response) == CONTENT[10:20]


@pytest.mark.s3
def test_on_s3_the_link_goes_where_ranges_are_served(
    api: Any, s3_storage: Any, make_tape: Any
) -> None:
    tape = make_tape(zip_content=CONTENT)
    response = api.get(f"/api/tapes/{tape.code}/media/zip", HTTP_RANGE="bytes=10-19")
    assert response.status_code == 302
    s3 = requests.get(response["Location"], headers={"Range": "bytes=10-19"}, timeout=30)
    assert s3.status_code == 206
    assert s3.content == CONTENT[10:20]
