"""Posting quotas, called on the services against PostgreSQL: tapes and bytes per rolling day, for
a guest's address and for a user, counted where an upload starts and again where it is
registered; reservations nobody uses stop counting; racing starts on separate connections
cannot pass a limit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from tapes import services
from tapes.models import Tape, TapeUpload
from tapes.services.uploads import UploadTicket
from tapes.storage import storage_for
from tests.tapes.services.conftest import Race, Refused

pytestmark = pytest.mark.django_db

GUEST = "198.51.100.7"


def start(
    size: int = 100, *, client: str = GUEST, user: User | None = None, piece: str = "q"
) -> UploadTicket:
    return services.tape_upload_start(
        user=user, piece=piece, size=size, base_url="http://x/", client=client
    )


def post(ticket: UploadTicket, *, user: User | None = None, content: bytes | None = None) -> Tape:
    """Put the ZIP where the form would, then register it."""
    body = content if content is not None else b"z" * ticket.upload.declared_bytes
    storage_for(ticket.upload.bucket).save(ticket.upload.key, ContentFile(body))
    return services.tape_post(user=user, slug=ticket.upload.slug, upload_token=ticket.token).tape


def test_a_guest_address_gets_so_many_tapes_a_day(settings: Any, refused: Refused) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 2
    first = start()
    post(first)  # a registered tape
    second = start()  # and a reservation: both count
    error = refused(start, "quota_exceeded")
    details = error.details
    assert (details["limit"], details["poster"], details["max"], details["used"]) == (
        "tapes_per_day",
        "guest",
        2,
        2,
    )
    # The first to leave the count is the reservation, when its form expires.
    assert datetime.fromisoformat(details["resets_at"]) == second.upload.expires_at
    assert 0 < details["retry_after"] <= settings.TAPES_UPLOAD_EXPIRES_SECONDS
    assert "2 of 2 tapes" in error.message
    # The refused start left no slot behind, and another address has its own allowance.
    assert TapeUpload.objects.filter(client=GUEST).count() == 2
    start(client="198.51.100.8")


def test_a_reservation_nobody_uses_stops_counting_when_its_form_expires(
    settings: Any, refused: Refused
) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    unused = start()
    refused(start, "quota_exceeded")
    TapeUpload.objects.filter(pk=unused.upload.pk).update(expires_at=timezone.now())
    start()


def test_registered_tapes_count_for_a_rolling_day(settings: Any, refused: Refused) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    tape = post(start())
    assert tape.poster.startswith("guest:") and GUEST not in tape.poster  # no address kept
    error = refused(start, "quota_exceeded")
    resets_at = datetime.fromisoformat(error.details["resets_at"])
    assert resets_at == Tape.objects.get(pk=tape.pk).created_at + timedelta(days=1)
    # Nuking it does not give the post back; a day later it has left the window.
    Tape.objects.filter(pk=tape.pk).update(nuked=True)
    refused(start, "quota_exceeded")
    Tape.objects.filter(pk=tape.pk).update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    start()


def test_declared_bytes_count_at_the_start_and_stored_bytes_after(
    settings: Any, refused: Refused
) -> None:
    settings.TAPES_QUOTA_GUEST_BYTES_PER_DAY = 1000
    first = start(600)
    error = refused(lambda: start(500), "quota_exceeded")
    assert (error.details["limit"], error.details["used"], error.details["max"]) == (
        "bytes_per_day",
        600,
        1000,
    )
    assert datetime.fromisoformat(error.details["resets_at"]) == first.upload.expires_at
    # Registered, the tape counts its declaration until its job has taken the ZIP; then what
    # was stored (less than it declared).
    tape = post(first, content=b"z" * 300)
    refused(lambda: start(700), "quota_exceeded")
    services.tape_zip_take(tape=tape)
    start(700)
    refused(lambda: start(1), "quota_exceeded")


def test_a_tape_bigger_than_the_whole_allowance_never_fits(settings: Any, refused: Refused) -> None:
    settings.TAPES_QUOTA_GUEST_BYTES_PER_DAY = 1000
    error = refused(lambda: start(1001), "quota_exceeded")
    assert error.details["resets_at"] is None
    assert "retry_after" not in error.details


def test_registering_checks_again_and_keeps_no_copy(settings: Any, refused: Refused) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 2
    late = start()
    # Its form expired unused for a while, and two other reservations took the room.
    TapeUpload.objects.filter(pk=late.upload.pk).update(expires_at=timezone.now())
    start()
    start()
    error = refused(lambda: post(late), "quota_exceeded")
    assert error.details["used"] == 2
    assert not Tape.objects.exists()
    assert TapeUpload.objects.get(pk=late.upload.pk).tape is None
    posted_copy = late.upload.key.removeprefix("uploads/")
    assert not storage_for(late.upload.bucket).exists(posted_copy)


def test_users_have_their_own_quota_and_the_permission_lifts_it(
    settings: Any, user: User, other_user: User, refused: Refused
) -> None:
    settings.TAPES_QUOTA_USER_TAPES_PER_DAY = 1
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    post(start(user=user), user=user)
    error = refused(lambda: start(user=user), "quota_exceeded")
    assert error.details["poster"] == "user"
    start(user=other_user)
    start()  # the guest allowance of the same address is another one
    other_user.user_permissions.add(Permission.objects.get(codename="post_without_quota"))
    exempt = User.objects.get(pk=other_user.pk)  # permissions are cached per object
    post(start(user=exempt), user=exempt)
    post(start(user=exempt), user=exempt)


def test_a_claimed_tape_still_counts_for_whoever_posted_it(
    settings: Any, user: User, django_capture_on_commit_callbacks: Any, refused: Refused
) -> None:
    settings.TAPES_QUOTA_USER_TAPES_PER_DAY = 1
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    ticket = start()
    post(ticket)
    # Posting as a guest issued the claim token; posting again hands a fresh one.
    again = services.tape_post(user=None, slug=ticket.upload.slug, upload_token=ticket.token)
    assert again.claim_token is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert services.tapes_claim(user=user, tokens=[again.claim_token])[0].claimed
    start(user=user)  # the claimer's own allowance is untouched
    refused(start, "quota_exceeded")  # and the guest's is still spent


def test_zero_turns_a_limit_off(settings: Any) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 0
    settings.TAPES_QUOTA_GUEST_BYTES_PER_DAY = 0
    settings.TAPES_UPLOAD_MAX_OPEN_PER_CLIENT = 0
    for _ in range(5):
        post(start(10_000))


@pytest.mark.django_db(transaction=True)
def test_racing_starts_on_separate_connections_never_pass_the_limit(
    settings: Any, race: Race
) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 4
    settings.TAPES_UPLOAD_MAX_OPEN_PER_CLIENT = 100  # only the daily quota in the race
    # Pieces of their own: no slug clash in the same millisecond.
    outcomes = race(12, lambda n: start(piece=f"p{n}"))
    assert set(outcomes) <= {"started", "quota_exceeded"}
    started = outcomes.count("started")
    # Never over the limit. (Racers that all insert before any counts may all be refused:
    # safe, and a client's retry gets in.)
    assert started <= 4
    assert TapeUpload.objects.filter(client=GUEST).count() == started
