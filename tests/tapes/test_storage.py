"""The upload policy is enforced by the storage itself: SeaweedFS for S3, our endpoint locally.

Each case sends a real multipart POST; the refusal must come from the storage, and nothing may be
stored.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.core.files.storage import storages
from django.utils import timezone

from tapes import services
from tapes.models import Tape
from tapes.storage import LocalPolicy, s3_client, sign_policy
from tests.conftest import send_form, tiny_zip

pytestmark = pytest.mark.django_db


def _storage(settings: Any) -> Any:
    return storages[settings.TAPES_BUCKET_STORAGES[settings.TAPES_GUEST_BUCKET]]


# --- SeaweedFS -----------------------------------------------------------------------------------


def test_s3_form_uploads_and_posts(
    s3_storage: Any,
    start_upload: Any,
    api: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = start_upload(size=len(tiny_zip()))
    assert ticket["upload"]["url"].startswith(s3_storage.endpoint)
    assert "policy" in ticket["upload"]["fields"]
    sent = send_form(api, ticket["upload"], tiny_zip())
    assert sent.status_code == 204, sent.text
    with django_capture_on_commit_callbacks(execute=True):
        posted = api.post("/api/tapes", _posting(ticket), format="json")
    assert posted.status_code == 201, posted.content
    services.tape_zip_take(tape=Tape.objects.get(code=posted.json()["code"]))  # as its job
    detail = api.get(f"/api/tapes/{posted.json()['code']}").json()
    # the media endpoint redirects to a presigned GET from the real storage: the same bytes
    redirect = api.get(detail["media"]["zip"])
    assert redirect.status_code == 302
    assert requests.get(redirect["Location"], timeout=10).content == tiny_zip()


def test_s3_refuses_another_key(s3_storage: Any, start_upload: Any, settings: Any) -> None:
    ticket = start_upload()
    fields = {**ticket["upload"]["fields"], "key": "someone-else.zip"}
    response = requests.post(
        ticket["upload"]["url"],
        data=fields,
        files={"file": ("t.zip", tiny_zip(), "application/zip")},
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert not _storage(settings).exists("someone-else.zip")


def test_s3_refuses_an_oversized_body(s3_storage: Any, start_upload: Any, settings: Any) -> None:
    settings.TAPES_UPLOAD_MAX_BYTES = 1024
    ticket = start_upload(size=100)
    response = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("t.zip", b"x" * 2048, "application/zip")},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert "EntityTooLarge" in response.text
    assert not _storage(settings).exists(ticket["upload"]["fields"]["key"])


def test_s3_refuses_an_expired_policy(s3_storage: Any, start_upload: Any, settings: Any) -> None:
    settings.TAPES_UPLOAD_EXPIRES_SECONDS = 1
    ticket = start_upload()
    time.sleep(2.5)  # not a timing assertion: the policy must be past its expiry
    response = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("t.zip", tiny_zip(), "application/zip")},
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert not _storage(settings).exists(ticket["upload"]["fields"]["key"])


def test_s3_refuses_another_content_type(s3_storage: Any, start_upload: Any, settings: Any) -> None:
    ticket = start_upload()
    fields = {**ticket["upload"]["fields"], "Content-Type": "text/html"}
    response = requests.post(
        ticket["upload"]["url"],
        data=fields,
        files={"file": ("t.zip", tiny_zip(), "text/html")},
        timeout=30,
    )
    assert response.status_code == 403, response.text


# --- The local endpoint --------------------------------------------------------------------------


def _local_post(api: Any, url: str, fields: dict[str, str], content: bytes) -> Any:
    return send_form(api, {"url": url, "fields": fields}, content)


def test_local_refuses_another_key(api: Any, start_upload: Any, settings: Any) -> None:
    ticket = start_upload()
    fields = {**ticket["upload"]["fields"], "key": "someone-else.zip"}
    response = _local_post(api, ticket["upload"]["url"], fields, tiny_zip())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "upload_policy_invalid"
    assert not _storage(settings).exists("someone-else.zip")


def test_local_refuses_an_oversized_body(api: Any, start_upload: Any, settings: Any) -> None:
    settings.TAPES_UPLOAD_MAX_BYTES = 1024
    ticket = start_upload(size=100)
    response = _local_post(api, ticket["upload"]["url"], ticket["upload"]["fields"], b"x" * 2048)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upload_too_large"
    assert not _storage(settings).exists(ticket["upload"]["fields"]["key"])


def test_local_refuses_a_huge_declared_length_before_reading(
    api: Any, start_upload: Any, settings: Any
) -> None:
    settings.TAPES_UPLOAD_MAX_BYTES = 1024
    ticket = start_upload(size=100)
    response = api.generic(
        "POST",
        ticket["upload"]["url"],
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(10**9),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upload_too_large"
    assert not _storage(settings).exists(ticket["upload"]["fields"]["key"])


def test_local_refuses_an_expired_policy(api: Any, settings: Any) -> None:
    key = "line-2025.01.01.00.00.00.000.zip"
    expired = LocalPolicy(
        bucket=settings.TAPES_GUEST_BUCKET,
        key=key,
        max_bytes=10_000,
        content_type="application/zip",
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    token = sign_policy(expired)
    fields = {"key": key, "Content-Type": "application/zip", "policy": token}
    url = f"http://testserver/api/tapes/uploads/local?{urlencode({'policy': token})}"
    response = _local_post(api, url, fields, tiny_zip())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "upload_expired"
    assert not _storage(settings).exists(key)


def test_local_refuses_a_forged_policy(api: Any, start_upload: Any, settings: Any) -> None:
    ticket = start_upload()
    policy = ticket["upload"]["fields"]["policy"]
    forged = policy[:-2] + ("AA" if policy[-2:] != "AA" else "BB")
    fields = {**ticket["upload"]["fields"], "policy": forged}
    response = _local_post(api, ticket["upload"]["url"], fields, tiny_zip())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "upload_policy_invalid"


def test_local_refuses_another_content_type(api: Any, start_upload: Any) -> None:
    ticket = start_upload()
    fields = {**ticket["upload"]["fields"], "Content-Type": "text/html"}
    response = _local_post(api, ticket["upload"]["url"], fields, tiny_zip())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "upload_type_invalid"


def test_local_refuses_a_form_without_a_file(api: Any, start_upload: Any) -> None:
    ticket = start_upload()
    response = api.post(ticket["upload"]["url"], ticket["upload"]["fields"], format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upload_file_missing"


def test_local_upload_is_not_behind_csrf(start_upload: Any, settings: Any, user: Any) -> None:
    """The signed policy is the credential, as with S3: a browser posts the form cross-origin."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    ticket = browser.post(
        "/api/tapes/uploads", {"piece": "x", "bytes": 10}, content_type="application/json"
    )
    # the JSON API is behind CSRF for a signed-in session...
    assert ticket.status_code == 403
    assert ticket.json()["error"]["code"] == "forbidden"
    # ...but the storage endpoint is not
    open_ticket = start_upload()
    response = _local_post(
        browser, open_ticket["upload"]["url"], open_ticket["upload"]["fields"], tiny_zip()
    )
    assert response.status_code == 204


def test_storage_setup_creates_buckets_and_cors(s3_storage: Any, settings: Any) -> None:
    from django.core.management import call_command

    settings.TAPES_USER_BUCKET = "setup-user"
    settings.TAPES_GUEST_BUCKET = "setup-guest"
    settings.TAPES_BUCKET_STORAGES = {"setup-user": "tapes_user", "setup-guest": "tapes_guest"}
    settings.STORAGES = {
        **settings.STORAGES,
        "tapes_user": {**settings.STORAGES["tapes_user"]},
        "tapes_guest": {**settings.STORAGES["tapes_guest"]},
    }
    settings.STORAGES["tapes_user"]["OPTIONS"] = {
        **settings.STORAGES["tapes_user"]["OPTIONS"],
        "bucket_name": "setup-user",
    }
    settings.STORAGES["tapes_guest"]["OPTIONS"] = {
        **settings.STORAGES["tapes_guest"]["OPTIONS"],
        "bucket_name": "setup-guest",
    }
    call_command("tapes_storage_setup", "--cors-origin", "http://127.0.0.1:8000")
    call_command("tapes_storage_setup")  # again: idempotent
    client = s3_client(storages["tapes_user"])
    assert client is not None
    names = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert {"setup-user", "setup-guest"} <= names
    rules = client.get_bucket_cors(Bucket="setup-guest")["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["http://127.0.0.1:8000"]
    assert "POST" in rules[0]["AllowedMethods"]


def _posting(ticket: dict[str, Any]) -> dict[str, str]:
    return {"slug": ticket["slug"], "upload_token": ticket["upload_token"]}
