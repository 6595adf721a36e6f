"""Guests who become users: a claim token at posting (only its hash kept), and claiming with it
(the right token yes, another no, twice no), with the files moved on SeaweedFS."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import django_rq
import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from tapes import jobs, services
from tapes.models import GuestClaim, RelocationState, Tape, TapeRelocation, TapeStatus
from tapes.queueing import RELOCATE
from tapes.services.relocate import originals_grace
from tapes.services.status import tape_status_set
from tapesite import queueing
from tests.support import synth
from tests.support.oidc import OidcProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def tape_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "t.zip"
    synth.make_tape(path, frames=8, width=32, height=24, scale=4, seed=5)
    return path.read_bytes()


@pytest.fixture
def signed_in(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def claim(django_capture_on_commit_callbacks: Any) -> Any:
    """POST /api/tapes/claim, running what waits for the commit (deleting the moved originals)."""

    def send(client: APIClient, *tokens: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/tapes/claim", {"tokens": list(tokens)}, format="json")

    return send


def guest_post(post_tape: Any, content: bytes | None = None) -> tuple[Tape, str]:
    response = post_tape(content=content)
    assert response.status_code == 201, response.content
    body = response.json()
    return Tape.objects.get(code=body["code"]), body["claim_token"]


def bucket_keys(s3: Any, bucket: str) -> set[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name="us-east-1",
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def file_keys(tape: Tape) -> list[str]:
    return [k for k in (tape.zip_key, tape.mp4_key, tape.thumbnail_key, tape.preview_key) if k]


def test_a_guest_post_returns_a_claim_token_and_only_its_hash_is_kept(post_tape: Any) -> None:
    tape, token = guest_post(post_tape)
    assert len(token) >= 40
    stored = GuestClaim.objects.get(tape=tape)
    assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert stored.claimed_at is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT token_sha256 FROM tapes_guestclaim")
        assert all(token not in row[0] for row in cursor.fetchall())


def test_a_signed_in_post_has_no_claim_token(api: APIClient, post_tape: Any, user: User) -> None:
    api.force_login(user)
    response = post_tape()
    assert response.status_code == 201
    assert "claim_token" not in response.json()
    assert not GuestClaim.objects.exists()


def test_the_right_token_claims_the_tape_at_once_and_a_job_moves_its_files_on_s3(
    s3_storage: Any, post_tape: Any, signed_in: APIClient, user: User, tape_bytes: bytes, claim: Any
) -> None:
    tape, token = guest_post(post_tape, tape_bytes)
    services.tape_encode(tape_id=tape.pk)  # at rest: ready, four files in the guest bucket
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY, tape.failure_message
    guest_files = set(file_keys(tape))
    assert len(guest_files) == 4
    assert guest_files <= bucket_keys(s3_storage, django_settings.TAPES_GUEST_BUCKET)
    before = {k: services_bytes(tape.bucket, k) for k in guest_files}

    response = claim(signed_in, token)
    assert response.status_code == 200, response.content
    assert response.json()["claimed"] == [tape.code]
    tape.refresh_from_db()
    # The user's at once; the files have not moved yet, and the move waits on the queue.
    assert tape.user == user
    assert tape.bucket == django_settings.TAPES_GUEST_BUCKET
    assert set(file_keys(tape)) == guest_files
    assert queueing.job_state(RELOCATE, tape.pk) == "live"
    assert TapeRelocation.objects.get(tape=tape).state == RelocationState.PENDING
    assert mp4_served(tape) == before[tape.mp4_key]

    assert jobs.relocate_tape(tape.pk) == "moved"  # what the worker runs
    tape.refresh_from_db()
    assert tape.bucket == django_settings.TAPES_USER_BUCKET
    assert all(k.startswith(f"users/{user.pk}/") for k in file_keys(tape))
    user_files = bucket_keys(s3_storage, django_settings.TAPES_USER_BUCKET)
    assert set(file_keys(tape)) <= user_files
    after = sorted(services_bytes(tape.bucket, k) for k in file_keys(tape))
    assert after == sorted(before.values())  # the same bytes, moved
    # The tape's own API page follows it (media links go through the site's visibility check,
    # which redirects to storage).
    media = APIClient().get(f"/api/tapes/{tape.code}").json()["media"]
    assert f"/users/{user.pk}/" in APIClient().get(media["mp4"])["Location"]
    assert mp4_served(tape) == before[guest_files_mp4(guest_files)]
    # The originals go once links to them have expired.
    assert guest_files <= bucket_keys(s3_storage, django_settings.TAPES_GUEST_BUCKET)
    later = timezone.now() + originals_grace() + timedelta(seconds=1)
    assert services.tape_relocation_originals_delete(now=later) == [tape.pk]
    assert not guest_files & bucket_keys(s3_storage, django_settings.TAPES_GUEST_BUCKET)
    assert mp4_served(tape) == before[guest_files_mp4(guest_files)]


def guest_files_mp4(keys: set[str]) -> str:
    return next(k for k in keys if k.endswith(".mp4"))


def mp4_served(tape: Tape) -> bytes:
    """The tape's video as a visitor gets it: the site's media link, then storage."""
    response = APIClient().get(f"/api/tapes/{tape.code}/media/mp4")
    assert response.status_code == 302, response.content
    fetched = requests.get(response["Location"], timeout=30)
    assert fetched.status_code == 200
    return fetched.content


def services_bytes(bucket: str, key: str) -> bytes:
    from tapes.storage import storage_for

    with storage_for(bucket).open(key, "rb") as handle:
        return bytes(handle.read())


def test_a_tape_claimed_while_encoding_moves_when_the_encode_ends(
    s3_storage: Any,
    post_tape: Any,
    signed_in: APIClient,
    user: User,
    tape_bytes: bytes,
    claim: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tape, token = guest_post(post_tape, tape_bytes)
    assert Tape.objects.get(pk=tape.pk).status == TapeStatus.QUEUED
    assert claim(signed_in, token).json()["claimed"] == [tape.code]
    tape.refresh_from_db()
    # Owned at once; its ZIP stays where the encode job will read it.
    assert tape.user == user and tape.bucket == django_settings.TAPES_GUEST_BUCKET
    assert jobs.relocate_tape(tape.pk) == "waiting"  # the queued move leaves it to the encode
    with django_capture_on_commit_callbacks(execute=True):
        services.tape_encode(tape_id=tape.pk)
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY
    assert tape.bucket == django_settings.TAPES_USER_BUCKET
    assert set(file_keys(tape)) <= bucket_keys(s3_storage, django_settings.TAPES_USER_BUCKET)
    assert len(file_keys(tape)) == 4
    originals = set(TapeRelocation.objects.get(tape=tape).old_keys)
    assert {k.split("/")[-1] for k in file_keys(tape)} <= originals
    later = timezone.now() + originals_grace() + timedelta(seconds=1)
    services.tape_relocation_originals_delete(now=later)
    assert bucket_keys(s3_storage, django_settings.TAPES_GUEST_BUCKET).isdisjoint(originals)


def test_a_failed_move_loses_nothing_and_reconcile_finishes_it(
    s3_storage: Any,
    settings: Any,
    post_tape: Any,
    signed_in: APIClient,
    user: User,
    claim: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tape, token = guest_post(post_tape)
    tape = services.tape_zip_take(tape=tape)
    tape_status_set(tape_id=tape.pk, status=TapeStatus.FAILED, failure_code="x")
    assert claim(signed_in, token).json()["claimed"] == [tape.code]
    working = settings.STORAGES
    broken = {**working, "tapes_user": {**working["tapes_user"]}}
    broken["tapes_user"]["OPTIONS"] = {**broken["tapes_user"]["OPTIONS"], "bucket_name": "nope"}
    settings.STORAGES = broken
    with pytest.raises(services.RetryLater):
        jobs.relocate_tape(tape.pk)
    tape.refresh_from_db()
    assert tape.user == user and tape.bucket == django_settings.TAPES_GUEST_BUCKET
    assert tape.zip_key in bucket_keys(s3_storage, django_settings.TAPES_GUEST_BUCKET)
    relocation = TapeRelocation.objects.get(tape=tape)
    assert relocation.attempts == 1 and relocation.failure_code  # visible to staff

    # Redis lost the job; storage is back: reconcile queues the move again.
    settings.STORAGES = working
    django_rq.get_queue("encode").connection.flushdb()
    assert services.tapes_reconcile().relocations_queued == [tape.pk]
    assert jobs.relocate_tape(tape.pk) == "moved"
    tape.refresh_from_db()
    assert tape.bucket == django_settings.TAPES_USER_BUCKET
    assert tape.zip_key in bucket_keys(s3_storage, django_settings.TAPES_USER_BUCKET)
    relocation.refresh_from_db()
    assert (relocation.state, relocation.failure_code) == (RelocationState.MOVED, "")


def test_another_token_claims_nothing_and_a_claim_happens_once(
    post_tape: Any, signed_in: APIClient, other_user: User, user: User, claim: Any
) -> None:
    tape, token = guest_post(post_tape)
    other_tape, other_token = guest_post(post_tape)
    response = claim(signed_in, "not-" + token)
    assert response.status_code == 200
    assert response.json()["claimed"] == []
    assert response.json()["results"][0]["error"]["code"] == "claim_unknown"
    tape.refresh_from_db()
    assert tape.user is None

    assert claim(signed_in, other_token).json()["claimed"] == [other_tape.code]
    tape.refresh_from_db()
    assert tape.user is None  # a token claims its own tape only

    assert claim(signed_in, token).json()["claimed"] == [tape.code]
    again = claim(signed_in, token).json()
    assert again["claimed"] == [] and again["results"][0]["error"]["code"] == "claim_used"
    thief = APIClient()
    thief.force_login(other_user)
    stolen = claim(thief, token).json()
    assert stolen["results"][0]["error"]["code"] == "claim_used"
    tape.refresh_from_db()
    assert tape.user == user
    record = GuestClaim.objects.get(tape=tape)
    assert record.claimed_by == user and record.claimed_at is not None


def test_each_token_gets_its_own_answer(post_tape: Any, signed_in: APIClient, claim: Any) -> None:
    first, good = guest_post(post_tape)
    response = claim(signed_in, "bogus", good, good)
    results = response.json()["results"]
    assert [r["claimed"] for r in results] == [False, True, False]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert results[1]["code"] == first.code
    assert results[2]["error"]["code"] == "claim_used"


def test_claiming_needs_a_signed_in_user(post_tape: Any, claim: Any) -> None:
    _, token = guest_post(post_tape)
    response = claim(APIClient(), token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_claiming_checks_its_input(signed_in: APIClient, claim: Any) -> None:
    assert claim(signed_in).status_code == 400
    assert claim(signed_in, *["t"] * 101).status_code == 400


def test_a_bearer_token_claims_without_csrf(auth0: OidcProvider, post_tape: Any) -> None:
    _, token = guest_post(post_tape)
    auth0.account("auth0|cl", nickname="claimer")
    access = auth0.user_tokens("auth0|cl")["access_token"]
    strict = APIClient(enforce_csrf_checks=True)
    response = strict.post(
        "/api/tapes/claim",
        {"tokens": [token]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )
    assert response.status_code == 200, response.content
    assert Tape.objects.get(user__sub="auth0|cl")


def test_guest_posting_is_throttled_per_client(api: APIClient, settings: Any) -> None:
    from django.core.cache import caches

    rest = settings.REST_FRAMEWORK
    rates = {**rest["DEFAULT_THROTTLE_RATES"], "tape_post": "2/min"}
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": rates}
    caches["throttle"].clear()
    first = [
        api.post("/api/tapes", {"slug": "x"}, format="json", REMOTE_ADDR="10.0.0.1").status_code
        for _ in range(3)
    ]
    other = api.post("/api/tapes", {"slug": "x"}, format="json", REMOTE_ADDR="10.0.0.2")
    assert first[:2] == [400, 400] and first[2] == 429  # (the post is invalid; the limit counts)
    assert other.status_code == 400  # another guest is not held back by the first
