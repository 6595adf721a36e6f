"""Posting from a registered site's page through HTTP: the site's quota and rate on top of each
client's, provenance from the body and the site from the Origin header only, and a site's guest
owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings

from tapes import services
from tapes.models import Tape, TapeUpload
from tests.conftest import send_form, tiny_zip
from tests.sites.factories import SiteFactory

pytestmark = pytest.mark.django_db

ORIGIN = "https://pieces.example"


def start(api: Any, *, origin: str | None = ORIGIN, addr: str = "198.51.100.1") -> Any:
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    body = {"piece": "q", "bytes": len(tiny_zip())}
    return api.post("/api/tapes/uploads", body, format="json", REMOTE_ADDR=addr, **headers)


def post(
    api: Any,
    ticket: dict[str, Any],
    *,
    origin: str | None = ORIGIN,
    addr: str = "198.51.100.1",
    **body: Any,
) -> Any:
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    assert send_form(api, ticket["upload"], tiny_zip()).status_code == 204
    posting = {"slug": ticket["slug"], "upload_token": ticket["upload_token"], **body}
    return api.post("/api/tapes", posting, format="json", REMOTE_ADDR=addr, **headers)


def test_the_site_quota_counts_every_client_of_the_site(api: Any) -> None:
    SiteFactory(origin=ORIGIN, name="Pieces", tapes_per_day=2)
    assert start(api, addr="198.51.100.1").status_code == 201
    assert start(api, addr="198.51.100.2").status_code == 201
    # A third client, well within its own quota, is over the site's.
    refused = start(api, addr="198.51.100.3")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "site_quota_exceeded"
    assert "Pieces" in error["message"]
    details = error["details"]
    assert (details["limit"], details["max"], details["used"]) == ("tapes_per_day", 2, 2)
    assert details["site"] == ORIGIN and details["retry_after"] > 0
    assert int(refused["Retry-After"]) == details["retry_after"]
    assert refused["Access-Control-Allow-Origin"] == ORIGIN
    assert TapeUpload.objects.count() == 2  # the refused slot was not kept
    # The same client from Tapesite itself is not counted against the site.
    assert start(api, origin=None, addr="198.51.100.3").status_code == 201


def test_the_client_quota_still_applies_within_a_site(api: Any, settings: Any) -> None:
    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    SiteFactory(origin=ORIGIN, tapes_per_day=100)
    assert start(api).status_code == 201
    refused = start(api)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"


def test_the_site_bytes_quota_and_the_settings_default(api: Any, settings: Any) -> None:
    size = len(tiny_zip())
    settings.TAPES_SITE_BYTES_PER_DAY = size * 2  # the site's own limit is 0: the default
    SiteFactory(origin=ORIGIN)
    assert start(api, addr="198.51.100.1").status_code == 201
    assert start(api, addr="198.51.100.2").status_code == 201
    refused = start(api, addr="198.51.100.3")
    assert refused.json()["error"]["code"] == "site_quota_exceeded"
    assert refused.json()["error"]["details"]["limit"] == "bytes_per_day"


def test_registering_checks_the_site_quota_again(api: Any) -> None:
    site = SiteFactory.create(origin=ORIGIN, tapes_per_day=5)
    first = start(api, addr="198.51.100.1").json()
    second = start(api, addr="198.51.100.2").json()
    assert post(api, first, addr="198.51.100.1").status_code == 201
    # The site's limit is lowered while the second slot waits.
    site.tapes_per_day = 1
    site.save()
    refused = post(api, second, addr="198.51.100.2")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "site_quota_exceeded"
    assert Tape.objects.count() == 1


def test_posts_per_minute_is_per_site(api: Any, settings: Any) -> None:
    SiteFactory(origin=ORIGIN, name="Pieces", posts_per_minute=2)
    SiteFactory(origin="https://other.example", posts_per_minute=2)
    assert start(api, addr="198.51.100.1").status_code == 201
    assert start(api, addr="198.51.100.2").status_code == 201
    refused = start(api, addr="198.51.100.3")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "throttled"
    assert error["details"]["scope"] == "site" and error["details"]["max"] == 2
    assert "Pieces" in error["message"]
    assert int(refused["Retry-After"]) >= 1
    assert refused["Access-Control-Allow-Origin"] == ORIGIN
    # Another site, and Tapesite itself, have their own count.
    assert start(api, origin="https://other.example", addr="198.51.100.3").status_code == 201
    assert start(api, origin=None, addr="198.51.100.3").status_code == 201


def test_provenance_round_trip_through_the_api(api: Any) -> None:
    SiteFactory(origin=ORIGIN, name="Pieces")
    ticket = start(api).json()
    provenance = {
        "piece_url": "https://pieces.example/line?x=1",
        "source": "https://pieces.example/line.js",
        "seed": "42",
    }
    response = post(api, ticket, provenance=provenance)
    assert response.status_code == 201, response.content
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response.json()["claim_token"]
    tape = Tape.objects.get(code=response.json()["code"])
    assert tape.site is not None
    assert (tape.site.origin, tape.origin) == (ORIGIN, ORIGIN)
    shown = api.get(f"/api/tapes/{tape.code}").json()["provenance"]
    assert shown == {
        "site": {"name": "Pieces", "origin": ORIGIN},
        "origin": ORIGIN,
        **provenance,
    }


def test_the_site_comes_from_origin_never_from_the_body(api: Any) -> None:
    SiteFactory(origin=ORIGIN)
    ticket = start(api, origin=None).json()
    provenance = {"piece_url": "https://x.example/p", "site": ORIGIN, "origin": ORIGIN}
    response = post(api, ticket, origin=None, provenance=provenance)
    assert response.status_code == 201, response.content
    tape = Tape.objects.get()
    assert tape.site is None and tape.origin == ""
    assert tape.piece_url == "https://x.example/p"
    assert api.get(f"/api/tapes/{tape.code}").json()["provenance"]["site"] is None


@pytest.mark.parametrize(
    ("provenance", "field"),
    [
        ({"piece_url": "javascript:alert(1)"}, "piece_url"),
        ({"piece_url": "ftp://pieces.example/x"}, "piece_url"),
        ({"piece_url": "https://pieces.example/" + "a" * 500}, "piece_url"),
        ({"source": "s" * 501}, "source"),
        ({"seed": "1" * 201}, "seed"),
    ],
)
def test_provenance_is_checked(api: Any, provenance: dict[str, str], field: str) -> None:
    SiteFactory(origin=ORIGIN)
    ticket = start(api).json()
    response = post(api, ticket, provenance=provenance)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]["provenance"]
    assert not Tape.objects.exists()


def test_a_plain_post_has_no_provenance(api: Any) -> None:
    ticket = start(api, origin=None).json()
    response = post(api, ticket, origin=None)
    assert api.get(f"/api/tapes/{response.json()['code']}").json()["provenance"] is None


def test_guests_on_a_site_with_a_guest_owner_post_as_that_account(api: Any, user: Any) -> None:
    SiteFactory(origin=ORIGIN, guest_owner=user)
    ticket = start(api).json()
    response = post(api, ticket, provenance={"piece_url": "https://pieces.example/line"})
    assert response.status_code == 201, response.content
    assert "claim_token" not in response.json()  # nothing to claim: the tape is the owner's
    tape = services.tape_zip_take(tape=Tape.objects.get())  # as its encode job starts
    assert tape.user == user
    assert tape.bucket == django_settings.TAPES_USER_BUCKET
    assert tape.zip_key.startswith(f"users/{user.pk}/")
    # Counted as the guest at their address, not against the owner's allowance.
    assert tape.poster.startswith("guest:")
    assert api.get(f"/api/tapes/{tape.code}").json()["owner"] == user.display_name
