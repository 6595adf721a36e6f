"""The HTTP contract of /api/tapes, on PostgreSQL, Redis and local storage."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tapes import services
from tapes.codes import parse_slug
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.queueing import ENCODE
from tapes.services import claims
from tests.conftest import audit_trail

pytestmark = pytest.mark.django_db


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return str(body["error"]["code"])


def test_upload_start_returns_a_local_signed_form(api: Any) -> None:
    response = api.post("/api/tapes/uploads", {"piece": "Line Art!", "bytes": 1234}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert parse_slug(body["slug"]) is not None
    assert body["slug"].startswith("line-art-")
    assert body["upload"]["method"] == "POST"
    assert body["upload"]["url"].startswith("http://testserver/api/tapes/uploads/local?policy=")
    fields = body["upload"]["fields"]
    assert fields["key"] == f"uploads/{body['slug']}.zip"  # only upload keys are writable
    assert fields["Content-Type"] == "application/zip"
    assert fields["policy"]
    expires = parse_datetime(body["expires_at"])
    assert expires is not None
    assert timezone.now() < expires <= timezone.now() + timedelta(minutes=10)


def test_piece_is_optional_and_defaults_to_tape(api: Any) -> None:
    response = api.post("/api/tapes/uploads", {"bytes": 10}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"].startswith("tape-")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"piece": "line"}, "invalid_input"),
        ({"piece": "line", "bytes": "many"}, "invalid_input"),
        ({"piece": "line", "bytes": 0}, "invalid_input"),
        ({"piece": ["a"], "bytes": 10}, "invalid_input"),
        ([1, 2, 3], "invalid_input"),
    ],
)
def test_upload_start_rejects_bad_input(api: Any, payload: Any, code: str) -> None:
    response = api.post("/api/tapes/uploads", payload, format="json")
    assert response.status_code == 400
    assert error_code(response) == code


def test_upload_start_refuses_more_than_the_limit(api: Any, settings: Any) -> None:
    settings.TAPES_UPLOAD_MAX_BYTES = 5000
    response = api.post("/api/tapes/uploads", {"piece": "x", "bytes": 5001}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "upload_too_large"
    assert response.json()["error"]["details"]["max_bytes"] == 5000


def test_malformed_json_is_a_400(api: Any) -> None:
    response = api.post("/api/tapes", '{"slug": ', content_type="application/json")
    assert response.status_code == 400
    assert error_code(response) == "malformed_json"


def test_huge_body_is_a_400_not_a_500(api: Any) -> None:
    body = '{"slug": "' + "a" * 200_000 + '"}'
    response = api.post("/api/tapes", body, content_type="application/json")
    assert response.status_code == 400
    assert error_code(response) == "body_too_large"


def test_wrong_content_type_has_a_code(api: Any) -> None:
    response = api.post("/api/tapes", "slug=x", content_type="text/plain")
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


@pytest.mark.django_db(transaction=True)
def test_post_creates_a_queued_tape_with_a_short_code(post_tape: Any, settings: Any) -> None:
    response = post_tape(piece="line", metadata={"fps": 60})
    assert response.status_code == 201, response.content
    body = response.json()
    # A guest's post also carries the claim token (tests/accounts/test_claims.py).
    assert set(body) == {"code", "slug", "status", "url", "claim_token"}
    assert len(body["code"]) == 3
    assert set(body["code"]) <= set(settings.TAPES_CODE_ALPHABET)
    assert body["status"] == "queued"
    assert body["url"].endswith(f"/api/tapes/{body['code']}")
    tape = Tape.objects.get(code=body["code"])
    assert tape.metadata == {"fps": 60}
    assert tape.piece == "line"
    assert tape.zip_bytes and tape.zip_bytes > 0
    assert ENCODE.job_id(tape.pk) in django_rq.get_queue(ENCODE.queue).job_ids


def test_post_with_a_malformed_slug(api: Any) -> None:
    body = {"slug": "../../etc/passwd", "upload_token": "x"}
    response = api.post("/api/tapes", body, format="json")
    assert response.status_code == 400
    assert error_code(response) == "slug_invalid"


def _posting(ticket: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"slug": ticket["slug"], "upload_token": ticket["upload_token"], **changes}


def test_post_before_the_upload_arrived(api: Any, start_upload: Any) -> None:
    # Posting does not wait on storage: the encode job finds no ZIP and says so on the tape.
    ticket = start_upload()
    response = api.post("/api/tapes", _posting(ticket), format="json")
    assert response.status_code == 201
    code = response.json()["code"]
    services.tape_encode(tape_id=Tape.objects.get(code=code).pk)
    body = api.get(f"/api/tapes/{code}").json()
    assert (body["status"], body["failure"]["code"]) == ("failed", "upload_missing")
    assert body["failure"]["message"]


def test_the_upload_token_is_required(api: Any, start_upload: Any) -> None:
    ticket = start_upload()
    response = api.post("/api/tapes", {"slug": ticket["slug"]}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid_input"
    assert "upload_token" in response.json()["error"]["details"]


def test_only_a_hash_of_the_upload_token_is_stored(api: Any, start_upload: Any) -> None:
    import hashlib

    ticket = start_upload()
    slot = TapeUpload.objects.get(slug=ticket["slug"])
    assert len(ticket["upload_token"]) >= 40
    assert slot.token_hash == hashlib.sha256(ticket["upload_token"].encode()).hexdigest()
    row = TapeUpload.objects.filter(pk=slot.pk).values().first()
    assert row is not None
    assert ticket["upload_token"] not in [str(v) for v in row.values()]


def test_one_answer_for_every_slot_the_caller_does_not_hold(
    api: Any, start_upload: Any, user: Any
) -> None:
    """A guest cannot take another guest's (or a user's) upload, and cannot tell a slot that
    exists, waits for its ZIP, or was posted from one that never existed."""
    from tests.conftest import send_form, tiny_zip

    waiting = start_upload(piece="a")  # started, ZIP not sent
    arrived = start_upload(piece="b")
    assert send_form(api, arrived["upload"], tiny_zip()).status_code == 204
    api.force_login(user)
    users = start_upload(piece="c")
    assert send_form(api, users["upload"], tiny_zip()).status_code == 204
    api.logout()
    forged = "x" * 43
    attempts = {
        "never issued": {"slug": "line-2025.10.17.12.30.00.123", "upload_token": forged},
        "waiting, wrong token": _posting(waiting, upload_token=forged),
        "arrived, wrong token": _posting(arrived, upload_token=forged),
        "arrived, another slot's token": _posting(arrived, upload_token=waiting["upload_token"]),
        "a user's slot, its token, as a guest": _posting(users),
        "a user's slot, wrong token": _posting(users, upload_token=forged),
    }
    answers = {}
    for name, body in attempts.items():
        response = api.post("/api/tapes", body, format="json")
        answers[name] = (response.status_code, response.json())
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, answers
    status_code, body = next(iter(answers.values()))
    assert status_code == 404 and body["error"]["code"] == "upload_not_found"
    assert not Tape.objects.exists()
    # The holder still posts it.
    with_token = api.post("/api/tapes", _posting(arrived), format="json")
    assert with_token.status_code == 201


def test_posting_again_answers_the_same_tape_and_a_new_claim_token(
    post_tape: Any, api: Any, start_upload: Any
) -> None:
    """A client whose answer was lost (a timeout, a cancel) posts again: the same tape, once."""
    from tests.conftest import send_form, tiny_zip

    ticket = start_upload()
    assert send_form(api, ticket["upload"], tiny_zip()).status_code == 204
    first = api.post("/api/tapes", _posting(ticket), format="json")
    assert first.status_code == 201
    again = api.post("/api/tapes", _posting(ticket), format="json")
    assert again.status_code == 200, again.content
    assert again.json()["code"] == first.json()["code"]
    assert Tape.objects.count() == 1
    tape = Tape.objects.get()
    # The first token may never have arrived: the new one is the one that works.
    assert again.json()["claim_token"] != first.json()["claim_token"]
    assert claims.claim_token_holds(tape=tape, token=again.json()["claim_token"])
    assert not claims.claim_token_holds(tape=tape, token=first.json()["claim_token"])


def test_posting_again_after_the_tape_was_deleted_is_slug_taken(
    post_tape: Any, api: Any, start_upload: Any
) -> None:
    from tests.conftest import send_form, tiny_zip

    ticket = start_upload()
    assert send_form(api, ticket["upload"], tiny_zip()).status_code == 204
    first = api.post("/api/tapes", _posting(ticket), format="json")
    token = first.json()["claim_token"]
    code = first.json()["code"]
    deleted = api.delete(f"/api/tapes/{code}", HTTP_X_CLAIM_TOKEN=token)
    assert deleted.status_code in (200, 204), deleted.content
    again = api.post("/api/tapes", _posting(ticket), format="json")
    assert again.status_code == 409
    assert error_code(again) == "slug_taken"
    # Someone else's token for that slot still learns nothing.
    stranger = api.post("/api/tapes", {**_posting(ticket), "upload_token": "x" * 43}, format="json")
    assert error_code(stranger) == "upload_not_found"


def test_post_of_an_object_over_the_limit(
    api: Any, start_upload: Any, settings: Any, local_storage: Any
) -> None:
    ticket = start_upload(size=100)
    # Storage enforces the policy; this simulates an object that got there some other way.
    path = local_storage / settings.TAPES_GUEST_BUCKET / ticket["upload"]["fields"]["key"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 2048)
    settings.TAPES_UPLOAD_MAX_BYTES = 1024
    # the slot kept the limit it was issued with; lower it as a site would for new uploads

    TapeUpload.objects.update(max_bytes=1024)
    response = api.post("/api/tapes", _posting(ticket), format="json")
    # Refused by the encode job, which is the first to look at the object: on the tape, for good.
    code = response.json()["code"]
    services.tape_encode(tape_id=Tape.objects.get(code=code).pk)
    body = api.get(f"/api/tapes/{code}").json()
    assert (body["status"], body["failure"]["code"]) == ("failed", "upload_too_large")
    assert body["media"]["zip"] is None


def test_detail_shows_the_whole_tape(post_tape: Any, api: Any) -> None:
    code = post_tape(piece="wand").json()["code"]
    response = api.get(f"/api/tapes/{code}")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == code
    assert body["piece"] == "wand"
    assert body["owner"] is None
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["failure"] is None
    assert body["at"] is None
    for key in ("frames", "duration_ms", "width", "height"):
        assert body[key] is None
    # Posted, not yet taken by its job: nothing of the upload is served.
    assert body["media"]["zip"] is None
    assert body["media"]["mp4"] is None
    assert body["media"]["thumbnail"] is None
    assert api.get(f"/api/tapes/{code}/media/zip").status_code == 404
    services.tape_zip_take(tape=Tape.objects.get(code=code))
    taken = api.get(f"/api/tapes/{code}").json()
    assert taken["media"]["zip"] == f"http://testserver/api/tapes/{code}/media/zip"
    assert api.get(taken["media"]["zip"]).status_code == 200


def test_codes_are_case_sensitive(post_tape: Any, api: Any) -> None:
    code = post_tape().json()["code"]
    flipped = code.swapcase()
    if flipped == code:  # all digits
        pytest.fail("code without letters; the alphabet should make this vanishingly rare")
    Tape.objects.filter(code=code).update(code="Zz9")
    assert api.get("/api/tapes/zz9").status_code == 404
    assert api.get("/api/tapes/Zz9").status_code == 200


def test_unknown_code_is_not_found(api: Any) -> None:
    response = api.get("/api/tapes/nope")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_signed_in_tape_shows_its_owner(post_tape: Any, api: Any, user: Any) -> None:
    api.force_login(user)
    code = post_tape().json()["code"]
    assert api.get(f"/api/tapes/{code}").json()["owner"] == "Ada Lovelace"


def test_guest_and_user_buckets(
    post_tape: Any, api: Any, user: Any, settings: Any, local_storage: Any
) -> None:
    guest = services.tape_zip_take(tape=Tape.objects.get(code=post_tape().json()["code"]))
    assert guest.bucket == settings.TAPES_GUEST_BUCKET
    assert guest.zip_key == f"{guest.slug}.zip"
    assert (local_storage / settings.TAPES_GUEST_BUCKET / guest.zip_key).exists()

    api.force_login(user)
    mine = services.tape_zip_take(tape=Tape.objects.get(code=post_tape().json()["code"]))
    assert mine.user == user
    assert mine.bucket == settings.TAPES_USER_BUCKET
    assert mine.zip_key == f"users/{user.pk}/{mine.slug}.zip"
    assert (local_storage / settings.TAPES_USER_BUCKET / mine.zip_key).exists()
    assert not (local_storage / settings.TAPES_GUEST_BUCKET / mine.zip_key).exists()


def test_a_guest_cannot_post_a_users_upload(api: Any, start_upload: Any, user: Any) -> None:
    from tests.conftest import send_form, tiny_zip

    api.force_login(user)
    ticket = start_upload()
    assert send_form(api, ticket["upload"], tiny_zip()).status_code == 204
    api.logout()
    response = api.post("/api/tapes", _posting(ticket), format="json")
    assert response.status_code == 404
    assert error_code(response) == "upload_not_found"


def test_list_is_newest_first_and_paginated(post_tape: Any, api: Any) -> None:
    codes = [post_tape(piece=f"p{i}").json()["code"] for i in range(5)]
    base = timezone.now()
    for offset, code in enumerate(codes):
        Tape.objects.filter(code=code).update(when=base + timedelta(seconds=offset))
    first = api.get("/api/tapes?limit=2").json()
    assert [t["code"] for t in first["results"]] == codes[::-1][:2]
    second = api.get(first["next"]).json()
    assert [t["code"] for t in second["results"]] == codes[::-1][2:4]
    third = api.get(second["next"]).json()
    assert [t["code"] for t in third["results"]] == codes[::-1][4:]
    assert third["next"] is None


def test_list_by_owner(post_tape: Any, api: Any, user: Any, other_user: Any) -> None:
    api.force_login(user)
    mine = post_tape().json()["code"]
    api.force_login(other_user)
    theirs = post_tape().json()["code"]
    api.logout()
    post_tape()
    assert [t["code"] for t in api.get("/api/tapes?owner=ada").json()["results"]] == [mine]
    assert [t["code"] for t in api.get("/api/tapes?owner=grace").json()["results"]] == [theirs]
    assert api.get("/api/tapes?owner=nobody").json()["results"] == []
    assert len(api.get("/api/tapes").json()["results"]) == 3


def test_bad_cursor(api: Any) -> None:
    response = api.get("/api/tapes?cursor=bz14")  # base64 of "o=x": an offset that is no number
    assert response.status_code == 400
    assert error_code(response) == "cursor_invalid"


def test_nuked_tape_is_gone_from_detail_and_list(post_tape: Any, api: Any, user: Any) -> None:
    api.force_login(user)
    code = post_tape().json()["code"]
    kept = post_tape().json()["code"]
    assert api.delete(f"/api/tapes/{code}").status_code == 204
    assert api.get(f"/api/tapes/{code}").status_code == 404
    assert [t["code"] for t in api.get("/api/tapes").json()["results"]] == [kept]
    assert [t["code"] for t in api.get("/api/tapes?owner=ada").json()["results"]] == [kept]
    tape = Tape.objects.get(code=code)
    assert tape.nuked and tape.nuked_at is not None  # soft: the row and files stay


def test_delete_needs_the_owner_or_a_moderator(
    post_tape: Any, api: Any, user: Any, other_user: Any, staff: Any, moderator: Any
) -> None:
    api.force_login(user)
    code = post_tape().json()["code"]
    api.logout()
    anonymous = api.delete(f"/api/tapes/{code}")
    assert anonymous.status_code == 401
    assert error_code(anonymous) == "not_authenticated"
    api.force_login(other_user)
    stranger = api.delete(f"/api/tapes/{code}")
    assert stranger.status_code == 403
    assert error_code(stranger) == "forbidden"
    # Staff without the tapes.nuke_tape permission are strangers here too.
    api.force_login(staff)
    staff_only = api.delete(f"/api/tapes/{code}")
    assert staff_only.status_code == 403
    assert error_code(staff_only) == "forbidden"
    assert not Tape.objects.get(code=code).nuked
    api.force_login(moderator)
    assert api.delete(f"/api/tapes/{code}").status_code == 204
    assert api.delete(f"/api/tapes/{code}").status_code == 404


def test_guest_tapes_cannot_be_deleted_by_other_users(
    post_tape: Any, api: Any, other_user: Any
) -> None:
    code = post_tape().json()["code"]
    api.force_login(other_user)
    assert error_code(api.delete(f"/api/tapes/{code}")) == "forbidden"


def test_throttled(api: Any, settings: Any) -> None:
    from django.core.cache import caches

    rest = settings.REST_FRAMEWORK
    rates = {**rest["DEFAULT_THROTTLE_RATES"], "tape_read": "2/min"}
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": rates}
    caches["throttle"].clear()
    statuses = [api.get("/api/tapes").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = api.get("/api/tapes")
    assert error_code(response) == "throttled"
    assert int(response.headers["Retry-After"]) > 0


def test_method_not_allowed_has_the_error_shape(api: Any) -> None:
    response = api.put("/api/tapes", {}, format="json")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


def test_openapi_schema_and_docs(api: Any) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/tapes/uploads", "/api/tapes", "/api/tapes/{code}"} <= set(paths)
    assert {"get", "post"} <= set(paths["/api/tapes"])
    docs = api.get("/api/schema/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_status_values_are_the_documented_ones() -> None:
    assert [s.value for s in TapeStatus] == ["uploaded", "queued", "processing", "ready", "failed"]


# --- POST /api/tapes/<code>/retry (the service: tests/tapes/services/test_reencode.py) ----------


@pytest.fixture
def failed(make_tape: Any, user: Any) -> Tape:
    tape: Tape = make_tape(
        user=user, status=TapeStatus.FAILED, attempts=5, failure_code="encode_gave_up"
    )
    return tape


def test_retry_api(
    api: Any, failed: Tape, user: Any, other_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    url = f"/api/tapes/{failed.code}/retry"
    response = api.post(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    api.force_authenticate(other_user)
    assert api.post(url).json()["error"]["code"] == "forbidden"
    api.force_authenticate(user)
    assert api.post("/api/tapes/nope/retry").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == failed.code
    assert body["failure"] is None
    failed.refresh_from_db()
    assert failed.status == TapeStatus.QUEUED
    assert django_rq.get_queue(ENCODE.queue).fetch_job(ENCODE.job_id(failed.pk)) is not None
    again = api.post(url)  # a second click changes nothing
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "tape_not_failed"


def test_staff_retry_through_the_api_needs_the_permission_and_is_audited(
    api: Any, failed: Tape, staff: Any, moderator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    url = f"/api/tapes/{failed.code}/retry"
    api.force_authenticate(staff)  # staff, but without tapes.change_tape
    refused = api.post(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert refused.json()["error"]["details"] == {"permission": "tapes.change_tape"}
    failed.refresh_from_db()
    assert failed.status == TapeStatus.FAILED
    assert audit_trail(failed) == []

    api.force_authenticate(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url)
    assert response.status_code == 200, response.content
    failed.refresh_from_db()
    assert failed.status == TapeStatus.QUEUED
    details = {"status": "failed", "failure_code": "encode_gave_up"}
    assert audit_trail(failed) == [(moderator, "tape_retry_encode", "", details)]


def test_retry_api_wants_the_csrf_token_of_a_session(failed: Tape, user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(f"/api/tapes/{failed.code}/retry")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: no test savepoints
def test_posting_and_reading_stay_within_their_query_budget(
    api: Any,
    start_upload: Any,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Round trips to the database are most of a request's cost under load (bench/load.py):
    # a new query on these paths should be a decision, not an accident.
    from tests.conftest import send_form, tiny_zip

    body = tiny_zip()
    with django_assert_max_num_queries(2):  # the slot, then the poster's slots and tapes
        ticket = start_upload(size=len(body))
    send_form(api, ticket["upload"], body)
    posting = {"slug": ticket["slug"], "upload_token": ticket["upload_token"]}
    # The slot; BEGIN, the poster's quota lock and count, the tape (in a savepoint, for a code
    # clash), the slot's claim, COMMIT; queued, by compare and set; the guest's claim token.
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(11):
        posted = api.post("/api/tapes", posting, format="json")
    assert posted.status_code == 201
    assert posted.json()["status"] == "queued"
    with django_assert_max_num_queries(1):
        read = api.get(f"/api/tapes/{posted.json()['code']}")
    assert read.json()["status"] == "queued"
