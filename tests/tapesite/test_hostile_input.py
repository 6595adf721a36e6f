"""Inputs that used to give a 500 or a non-JSON answer on /api/: each now gets the error shape."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import send_form

pytestmark = pytest.mark.django_db


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])


def test_json_nested_thousands_deep(api: Any) -> None:
    deep = "[" * 5000 + "]" * 5000
    response = api.post("/api/tapes", deep, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_json_nested_past_the_limit_inside_metadata(api: Any) -> None:
    metadata: Any = "x"
    for _ in range(40):
        metadata = {"a": metadata}
    body = {"slug": "line-2025.10.17.12.30.00.123", "upload_token": "t", "metadata": metadata}
    response = api.post("/api/tapes", body, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


@pytest.mark.parametrize("text", ["nul\\u0000here", "lone \\ud800 surrogate", "\\udfff"])
def test_text_postgres_cannot_store(api: Any, post_tape: Any, text: str) -> None:
    raw = '{"slug": "x", "upload_token": "t", "metadata": {"title": "' + text + '"}}'
    response = api.post("/api/tapes", raw, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_text"
    # in a key too, and on a real slot (the path that reached the database)
    raw_key = '{"slug": "x", "upload_token": "t", "metadata": {"' + text + '": 1}}'
    assert error_of(api.post("/api/tapes", raw_key, content_type="application/json"))


@pytest.mark.parametrize(
    "cursor",
    [
        base64.b64encode(b"p=not-a-date&r=0").decode(),
        base64.b64encode(b"p=2025-13-45T99:00:00&r=0").decode(),
        base64.b64encode(b"p=2025-01-01T00:00:00%00&o=1").decode(),
        base64.b64encode(b"o=999999999999999999999999").decode(),
        base64.b64encode(b"p=1&p=2&r=1&o=-5").decode(),
        base64.b64encode(b"p=" + b"9" * 400).decode(),
        "%%%",
        "",
    ],
)
def test_hand_made_list_cursors(api: Any, post_tape: Any, cursor: str) -> None:
    post_tape()
    response = api.get(f"/api/tapes?cursor={quote(cursor)}")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert error_of(response)["code"] == "cursor_invalid"


@pytest.mark.parametrize("path", ["/api/tapes/", "/api/nothing", "/api/", "/api/tapes/x/y"])
def test_unknown_api_paths_answer_json(api: Any, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_too_many_form_fields(api: Any, settings: Any, start_upload: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    # A valid policy in the URL, so the body is read at all.
    url = start_upload()["upload"]["url"]
    fields = "&".join(f"f{i}=1" for i in range(50))
    response = api.generic("POST", url, fields, content_type="multipart/form-data")
    assert response.status_code == 400
    assert error_of(response)["code"] in ("malformed_form", "body_invalid")
    many = {f"f{i}": "1" for i in range(50)}
    response = api.post(url, many, format="multipart")
    assert response.status_code == 400
    assert error_of(response)["code"] == "body_invalid"


def test_multipart_without_a_boundary(api: Any, start_upload: Any) -> None:
    url = start_upload()["upload"]["url"]
    response = api.generic("POST", url, b"--x\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_form"


def test_a_bad_host_on_an_api_path_answers_json(client: Any) -> None:
    response = client.get("/api/tapes", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


# The local upload endpoint is left out of the OpenAPI schema (it stands in for S3's form
# endpoint and is not the site's API), so the schema-driven run never reaches it: Hypothesis
# sends it forms of its own, real ones with one field changed and made-up ones.
_FORM_FIELDS = ["key", "Content-Type", "policy", "x-amz-signature", "file", "success"]


@given(
    changes=st.dictionaries(
        st.sampled_from(_FORM_FIELDS),
        st.one_of(st.text(max_size=300), st.just(""), st.text(alphabet="\x00\ud7ff/.", max_size=5)),
        max_size=3,
    ),
    keep_real=st.booleans(),
    content=st.binary(max_size=3000),
)
@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_local_upload_endpoint_answers_any_form_without_a_5xx(
    api: Any,
    start_upload: Any,
    local_storage: Any,
    settings: Any,
    unthrottled: None,
    changes: dict[str, str],
    keep_real: bool,
    content: bytes,
) -> None:
    # Every example starts a slot: no per-client cap or daily quota in the way either.
    settings.TAPES_UPLOAD_MAX_OPEN_PER_CLIENT = 10_000
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 0
    settings.TAPES_QUOTA_GUEST_BYTES_PER_DAY = 0
    ticket = start_upload(size=max(len(content), 1))
    fields = dict(ticket["upload"]["fields"]) if keep_real else {}
    fields.update(changes)
    before = {p for p in local_storage.rglob("*") if p.is_file()}
    response = send_form(api, {"url": ticket["upload"]["url"], "fields": fields}, content)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        error_of(response)
    key = ticket["upload"]["fields"]["key"]
    written = {p for p in local_storage.rglob("*") if p.is_file()} - before
    # Whatever it was sent, at most the slot's own key was written, and only for a valid form.
    assert all(p.as_posix().endswith("/" + key) for p in written), written
    if response.status_code >= 400:
        assert not written
