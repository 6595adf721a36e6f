"""A claim of many guest tapes on SeaweedFS: the request makes them the user's and moves no file;
a real worker process (``manage.py tapes_worker --burst``) moves them; the media serve before,
after, and once the originals are gone."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import boto3
import django_rq
import pytest
import requests
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from tapes import services
from tapes.files import tape_stored_files
from tapes.models import RelocationState, Tape, TapeRelocation
from tapes.queueing import RELOCATE
from tapes.services.relocate import originals_grace
from tapes.storage import storage_for
from tests.support.services import S3Server
from tests.support.worker import ROOT, worker_env
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db(transaction=True)

MANY = 30


def bucket_keys(s3: S3Server, bucket: str, prefix: str = "") -> set[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name="us-east-1",
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def guest_tape_on_s3(n: int) -> tuple[Tape, str]:
    """A guest's ready tape whose files are in the guest bucket, and its claim token."""
    tape = ReadyTapeFactory.create()
    storage = storage_for(tape.bucket)
    for file, key in tape_stored_files(tape):
        storage.save(key, ContentFile(f"{file.name} of tape {n}".encode()))
    return tape, services.claim_token_issue(tape=tape)


def served(code: str, name: str = "mp4") -> bytes:
    """A tape's file as a visitor gets it: the site's media link, then storage."""
    response = APIClient().get(f"/api/tapes/{code}/media/{name}")
    assert response.status_code == 302, response.content
    fetched = requests.get(response["Location"], timeout=30)
    assert fetched.status_code == 200, fetched.text[:200]
    return fetched.content


def run_worker(s3: S3Server, media: Path) -> None:
    connections.close_all()
    env = {
        **worker_env(media),
        "TAPES_STORAGE": "s3",
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_S3_ENDPOINT_URL": s3.endpoint,
    }
    worker = subprocess.run(
        [sys.executable, "manage.py", "tapes_worker", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert worker.returncode == 0, worker.stdout.decode(errors="replace")[-3000:]


def test_a_claim_of_many_moves_no_file_in_the_request_and_the_worker_moves_them(
    s3_storage: S3Server, local_storage: Path, user: User
) -> None:
    made = [guest_tape_on_s3(n) for n in range(MANY)]
    tapes = [tape for tape, _ in made]
    originals = {tape.pk: {key for _, key in tape_stored_files(tape)} for tape in tapes}
    expected = {tape.code: served(tape.code) for tape in tapes[:3]}
    client = APIClient()
    client.force_login(user)

    response = client.post("/api/tapes/claim", {"tokens": [t for _, t in made]}, format="json")

    assert response.status_code == 200, response.content
    assert sorted(response.json()["claimed"]) == sorted(tape.code for tape in tapes)
    owned = Tape.objects.filter(pk__in=[tape.pk for tape in tapes])
    assert set(owned.values_list("user_id", flat=True)) == {user.pk}
    # Not a file moved: every tape still names its guest files, none is in the user's place.
    assert set(owned.values_list("bucket", flat=True)) == {django_settings.TAPES_GUEST_BUCKET}
    user_bucket = django_settings.TAPES_USER_BUCKET
    assert bucket_keys(s3_storage, user_bucket, f"users/{user.pk}/") == set()
    relocations = TapeRelocation.objects.filter(tape__in=owned)
    assert set(relocations.values_list("state", flat=True)) == {RelocationState.PENDING}
    queued = set(django_rq.get_queue(RELOCATE.queue).job_ids)
    assert {RELOCATE.job_id(tape.pk) for tape in tapes} <= queued
    assert {code: served(code) for code in expected} == expected  # playing from the guest bucket

    run_worker(s3_storage, local_storage)

    assert set(owned.values_list("bucket", flat=True)) == {user_bucket}
    moved = bucket_keys(s3_storage, user_bucket, f"users/{user.pk}/")
    for tape in owned:
        keys = {key for _, key in tape_stored_files(tape)}
        assert len(keys) == 4 and keys <= moved
    assert set(relocations.values_list("state", flat=True)) == {RelocationState.MOVED}
    assert {code: served(code) for code in expected} == expected  # now from the user's place
    # The originals stay while links handed out before the move may still be used...
    guest_keys = bucket_keys(s3_storage, django_settings.TAPES_GUEST_BUCKET)
    assert set().union(*originals.values()) <= guest_keys
    # ...and go once they have expired (the reconcile step of a later tick).
    later = timezone.now() + originals_grace() + timedelta(seconds=1)
    assert len(services.tape_relocation_originals_delete(now=later)) == MANY
    guest_keys = bucket_keys(s3_storage, django_settings.TAPES_GUEST_BUCKET)
    assert not set().union(*originals.values()) & guest_keys
    assert {code: served(code) for code in expected} == expected
    assert all(served(tape.code, "zip") for tape in tapes)  # none lost a file
