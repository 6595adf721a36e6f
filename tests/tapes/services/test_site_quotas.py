"""A registered site's quota, called on the services against PostgreSQL: counted over every
client of the site where an upload starts and again where it is registered, on top of each
poster's own; racing starts from many clients of one site cannot pass it; a site's guest owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from sites.models import Site
from tapes import services
from tapes.models import Tape, TapeUpload
from tapes.services.uploads import UploadTicket
from tapes.storage import storage_for
from tests.sites.factories import SiteFactory
from tests.tapes.services.conftest import Race, Refused

pytestmark = pytest.mark.django_db


def start(
    site: Site | None, *, client: str, size: int = 100, user: User | None = None, piece: str = "q"
) -> UploadTicket:
    return services.tape_upload_start(
        user=user, piece=piece, size=size, base_url="http://x/", client=client, site=site
    )


def post(ticket: UploadTicket, site: Site | None, *, piece_url: str = "", seed: str = "") -> Tape:
    storage_for(ticket.upload.bucket).save(
        ticket.upload.key, ContentFile(b"z" * ticket.upload.declared_bytes)
    )
    return services.tape_post(
        user=None,
        slug=ticket.upload.slug,
        upload_token=ticket.token,
        site=site,
        piece_url=piece_url,
        seed=seed,
    ).tape


def test_the_site_counts_tapes_and_open_slots_of_all_its_clients(refused: Refused) -> None:
    site = SiteFactory.create(tapes_per_day=3)
    post(start(site, client="198.51.100.1"), site)
    start(site, client="198.51.100.2")  # open, not posted: counts until its form expires
    start(site, client="198.51.100.3")
    refusal = refused(lambda: start(site, client="198.51.100.4"), "site_quota_exceeded")
    assert refusal.details["used"] == 3
    assert not TapeUpload.objects.filter(client="198.51.100.4").exists()
    # A slot whose form expired stops counting.
    TapeUpload.objects.filter(client="198.51.100.3").update(expires_at=timezone.now())
    start(site, client="198.51.100.4")
    # Another site, and Tapesite itself, are not counted against it.
    start(SiteFactory.create(tapes_per_day=1), client="198.51.100.5")
    start(None, client="198.51.100.5")


def test_the_site_bytes_include_the_declared_size(settings: Any, refused: Refused) -> None:
    site = SiteFactory.create(bytes_per_day=1000)
    start(site, client="198.51.100.1", size=600)
    refusal = refused(lambda: start(site, client="198.51.100.2", size=500), "site_quota_exceeded")
    assert (refusal.details["limit"], refusal.details["used"]) == ("bytes_per_day", 600)
    assert refusal.details["resets_at"] is not None
    start(site, client="198.51.100.2", size=400)


def test_registering_counts_the_site_again_and_keeps_nothing_refused(refused: Refused) -> None:
    site = SiteFactory.create(tapes_per_day=2)
    first = start(site, client="198.51.100.1")
    second = start(site, client="198.51.100.2")
    post(first, site)
    Site.objects.filter(pk=site.pk).update(tapes_per_day=1)
    site.refresh_from_db()
    refused(lambda: post(second, site), "site_quota_exceeded")
    assert Tape.objects.count() == 1


def test_both_the_poster_and_the_site_are_checked(settings: Any, refused: Refused) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    site = SiteFactory.create(tapes_per_day=10)
    start(site, client="198.51.100.1")
    refused(lambda: start(site, client="198.51.100.1"), "quota_exceeded")


def test_a_guest_owner_owns_the_tape_and_the_provenance_is_kept(user: Any) -> None:
    site = SiteFactory.create(origin="https://pieces.example", guest_owner=user)
    ticket = start(site, client="198.51.100.1")
    assert ticket.upload.user == user and ticket.upload.client == "198.51.100.1"
    tape = post(ticket, site, piece_url="https://pieces.example/q", seed=" 42 ")
    assert (tape.user, tape.site, tape.origin) == (user, site, "https://pieces.example")
    assert (tape.piece_url, tape.seed, tape.source) == ("https://pieces.example/q", "42", "")
    assert tape.poster.startswith("guest:")


def test_a_piece_url_must_be_http_or_https() -> None:
    site = SiteFactory.create()
    ticket = start(site, client="198.51.100.1")
    with pytest.raises(ValidationError) as caught:
        post(ticket, site, piece_url="ftp://pieces.example/q")
    assert "piece_url" in caught.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_racing_clients_of_one_site_never_pass_its_limit(race: Race) -> None:
    site = SiteFactory.create(tapes_per_day=4)
    outcomes = race(12, lambda n: start(site, client=f"198.51.100.{n + 1}", piece=f"p{n}"))
    assert set(outcomes) <= {"started", "site_quota_exceeded"}
    started = outcomes.count("started")
    assert started <= 4
    assert TapeUpload.objects.filter(site=site).count() == started
