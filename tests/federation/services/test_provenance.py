"""A tape's provenance in its computer.aesthetic.tape record, on the real reference PDS: the
record carries it (valid against the lexicon), and a plain tape's record has none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from federation.models import FederationState
from federation.services.records import placeholder_blob, tape_lexicon, tape_record
from tapes.models import Tape
from tests.federation.conftest import COLLECTION, at_of, federate
from tests.sites.factories import SiteFactory
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def with_provenance(tape: Tape, **fields: Any) -> Tape:
    for name, value in fields.items():
        setattr(tape, name, value)
    tape.save()
    return tape


def test_the_record_on_the_pds_carries_the_provenance(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    site = SiteFactory.create(origin="https://pieces.example", name="Pieces")
    tape = with_provenance(
        ready_tape(user),
        site=site,
        origin=site.origin,
        piece_url="https://pieces.example/line?x=1",
        source="https://pieces.example/line.js",
        seed="42",
    )
    assert federate(tape).state == FederationState.DONE
    response = pds.get_record(remote.did, COLLECTION, at_of(tape)["rkey"])
    assert response.status_code == 200, response.text
    assert response.json()["value"]["provenance"] == {
        "site": "Pieces",
        "origin": "https://pieces.example",
        "pieceUrl": "https://pieces.example/line?x=1",
        "source": "https://pieces.example/line.js",
        "seed": "42",
    }


def test_partial_and_missing_provenance(user: Any, ready_tape: Callable[..., Tape]) -> None:
    tape = ready_tape(user)
    video = placeholder_blob("video/mp4", 1000)
    assert "provenance" not in tape_record(tape, video=video, thumbnail=None)
    # A removed site leaves its origin; text sources are kept as text.
    with_provenance(tape, origin="https://gone.example", source="drawn by hand")
    record = tape_record(tape, video=video, thumbnail=None)
    tape_lexicon().validate_record(record)
    assert record["provenance"] == {"origin": "https://gone.example", "source": "drawn by hand"}
