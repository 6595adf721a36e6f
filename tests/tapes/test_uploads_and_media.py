"""Uploads are not free storage, a posted tape's files cannot be replaced, and media follow the
tape's visibility (issue 12, findings 5-7)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.utils import timezone

from tapes import services
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.storage import UPLOAD_PREFIX, sibling_key, storage_for
from tests.conftest import send_form, tiny_zip

pytestmark = pytest.mark.django_db


def _posting(ticket: dict[str, Any]) -> dict[str, str]:
    return {"slug": ticket["slug"], "upload_token": ticket["upload_token"]}


def _upload_and_post(
    api: Any, start_upload: Any, content: bytes, *, take: bool = True
) -> tuple[dict[str, Any], Any]:
    """Upload and post; ``take``: then the encode job's first step, which copies the ZIP out of
    the upload key to the tape's own."""
    ticket = start_upload(size=len(content))
    sent = send_form(api, ticket["upload"], content)
    assert sent.status_code in (200, 201, 204), getattr(sent, "text", sent)
    posted = api.post("/api/tapes", _posting(ticket), format="json")
    if take and posted.status_code == 201:
        services.tape_zip_take(tape=Tape.objects.get(code=posted.json()["code"]))
    return ticket, posted


def _fetch(api: Any, url: str) -> tuple[int, bytes]:
    """Follow the media endpoint the way a browser would (a redirect goes to S3)."""
    response = api.get(url)
    if response.status_code == 302:
        s3 = requests.get(response["Location"], timeout=30)
        return s3.status_code, s3.content
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body


# --- 7: declared size, open-slot cap, sweep ----------------------------------------------------


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_declaring_one_byte_and_sending_more_is_refused(
    backend: str, api: Any, start_upload: Any, settings: Any, request: pytest.FixtureRequest
) -> None:
    if backend == "s3":
        request.getfixturevalue("s3_storage")
    ticket = start_upload(size=1)
    response = send_form(api, ticket["upload"], b"x" * 30 * 1024)
    assert response.status_code in (400, 403), getattr(response, "text", response)
    key = ticket["upload"]["fields"]["key"]
    assert not storage_for(settings.TAPES_GUEST_BUCKET).exists(key)


def test_a_client_may_hold_only_so_many_open_uploads(api: Any, settings: Any) -> None:
    settings.TAPES_UPLOAD_MAX_OPEN_PER_CLIENT = 3

    def start(remote: str) -> Any:
        body = {"piece": "p", "bytes": 10}
        return api.post("/api/tapes/uploads", body, format="json", REMOTE_ADDR=remote)

    assert [start("198.51.100.1").status_code for _ in range(3)] == [201] * 3
    refused = start("198.51.100.1")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_open_uploads"
    assert start("198.51.100.2").status_code == 201  # another client
    # A slot leaves the count once it is swept (an hour after it was started).
    hour_ago = timezone.now() - timedelta(seconds=settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS + 1)
    TapeUpload.objects.filter(client="198.51.100.1").update(
        created_at=hour_ago, expires_at=hour_ago
    )
    services.tape_uploads_sweep()
    assert start("198.51.100.1").status_code == 201


def test_never_posted_uploads_are_swept_within_an_hour(settings: Any) -> None:
    assert settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS <= 3600
    ticket = services.tape_upload_start(user=None, piece="gone", size=100, base_url="http://x/")
    storage = storage_for(ticket.upload.bucket)
    storage.save(ticket.upload.key, ContentFile(tiny_zip()))
    soon = timezone.now() + timedelta(seconds=600)
    assert services.tape_uploads_sweep(now=soon) == 0  # still young
    later = timezone.now() + timedelta(seconds=settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS + 1)
    assert services.tape_uploads_sweep(now=later) == 1
    assert not TapeUpload.objects.filter(pk=ticket.upload.pk).exists()
    assert not storage.exists(ticket.upload.key)


def test_unposted_uploads_are_not_served(api: Any, start_upload: Any, settings: Any) -> None:
    ticket = start_upload(size=len(tiny_zip()))
    assert send_form(api, ticket["upload"], tiny_zip()).status_code == 204
    key = ticket["upload"]["fields"]["key"]
    assert key.startswith(UPLOAD_PREFIX)
    for path in (f"/media/{settings.TAPES_GUEST_BUCKET}/{key}", f"/media/{key}"):
        assert api.get(path).status_code == 404


# --- 5: what is posted cannot be replaced -----------------------------------------------------


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_replayed_form_changes_nothing_after_posting(
    backend: str,
    api: Any,
    start_upload: Any,
    request: pytest.FixtureRequest,
    django_capture_on_commit_callbacks: Any,
) -> None:
    if backend == "s3":
        request.getfixturevalue("s3_storage")
    original = tiny_zip()
    with django_capture_on_commit_callbacks(execute=True):
        ticket, posted = _upload_and_post(api, start_upload, original, take=False)
    assert posted.status_code == 201, posted.content
    # Until its job has taken the ZIP, nothing of the upload is served.
    assert api.get(posted.json()["url"]).json()["media"]["zip"] is None
    assert api.get(posted.json()["url"] + "/media/zip").status_code == 404
    tape = services.tape_zip_take(tape=Tape.objects.get(code=posted.json()["code"]))
    assert not tape.zip_key.startswith(UPLOAD_PREFIX)
    assert tape.zip_key != ticket["upload"]["fields"]["key"]

    forged = original.replace(b"not a real tape", b"a swapped tape!")
    assert len(forged) == len(original) and forged != original
    replay = send_form(api, ticket["upload"], forged)
    assert replay.status_code in (200, 201, 204)  # the form still writes its own key...
    status, body = _fetch(api, posted.json()["url"] + "/media/zip")
    assert (status, body) == (200, original)  # ...which is not the tape's ZIP
    assert storage_for(tape.bucket).open(tape.zip_key).read() == original
    # Posting the slot again answers the same tape and does not pick up the new bytes either.
    again = api.post("/api/tapes", _posting(ticket), format="json")
    assert again.status_code == 200, again.content
    assert again.json()["code"] == tape.code
    assert Tape.objects.count() == 1
    assert storage_for(tape.bucket).open(tape.zip_key).read() == original


def test_the_upload_object_goes_once_its_form_expired(api: Any, start_upload: Any) -> None:
    ticket, posted = _upload_and_post(api, start_upload, tiny_zip())
    tape = Tape.objects.get(code=posted.json()["code"])
    storage = storage_for(tape.bucket)
    upload_key = ticket["upload"]["fields"]["key"]
    assert storage.exists(upload_key)
    services.tape_uploads_sweep(now=timezone.now() + timedelta(seconds=601))
    assert not storage.exists(upload_key)
    assert storage.exists(tape.zip_key)


# --- 6: nuked tapes' media stop serving; un-nuke brings them back ------------------------------


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_nuked_media_stop_and_come_back(
    backend: str,
    api: Any,
    start_upload: Any,
    moderator: Any,
    settings: Any,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "s3":
        request.getfixturevalue("s3_storage")
    _, posted = _upload_and_post(api, start_upload, tiny_zip())
    code = posted.json()["code"]
    tape = Tape.objects.get(code=code)
    # The encoder's files, as a finished encode leaves them beside the ZIP.
    made = {"mp4": ".mp4", "thumbnail": "-thumb.webp", "preview": "-preview.webp", "gif": ".gif"}
    contents = {"zip": tiny_zip()}
    for name, suffix in made.items():
        key = sibling_key(tape.zip_key, suffix)
        storage_for(tape.bucket).save(key, ContentFile(f"{name} bytes".encode()))
        setattr(tape, f"{name}_key", key)
        contents[name] = f"{name} bytes".encode()
    tape.save(update_fields=[f"{name}_key" for name in made])
    links = api.get(f"/api/tapes/{code}").json()["media"]
    assert set(links) == set(contents)
    for name, body in contents.items():
        assert _fetch(api, links[name]) == (200, body), name
    media = links["zip"]
    if backend == "s3":
        location = api.get(media)["Location"]
        expires = int(parse_qs(urlsplit(location).query)["X-Amz-Expires"][0])
        assert expires <= 60  # a link handed out before a nuke dies within a minute
        # Not encoded yet: never stored. Once ready, a cached redirect outlives neither half its
        # link's life nor the shared-cache promise.
        assert api.get(media)["Cache-Control"] == "private, no-store"
        Tape.objects.filter(pk=tape.pk).update(status=TapeStatus.READY)
        kept = dict(
            part.strip().split("=")
            for part in api.get(media)["Cache-Control"].split(",")
            if "=" in part
        )
        assert int(kept["max-age"]) + int(kept["s-maxage"]) <= expires // 2

    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    for name in contents:
        assert api.get(links[name]).status_code == 404, name
    assert api.get(f"/api/tapes/{code}").status_code == 404

    services.tape_unnuke(tape=tape, actor=moderator, reason="appeal")
    for name, body in contents.items():
        assert _fetch(api, links[name]) == (200, body), name


def test_only_moderators_undo_a_nuke(
    api: Any, start_upload: Any, user: Any, moderator: Any
) -> None:
    from tapesite.errors import TapesiteError

    _, posted = _upload_and_post(api, start_upload, tiny_zip())
    tape = Tape.objects.get(code=posted.json()["code"])
    services.tape_nuke(tape=tape, actor=moderator)
    with pytest.raises(TapesiteError) as refused:
        services.tape_unnuke(tape=tape, actor=user)
    assert refused.value.code == "forbidden"
    tape.refresh_from_db()
    assert tape.nuked
