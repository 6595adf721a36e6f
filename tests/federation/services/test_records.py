"""The tape's record (federation/services/records.py): what a ready tape becomes on the
reference PDS, valid against the lexicon for the reference validator and ours."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from federation.models import FederationState
from federation.services.records import tape_lexicon
from tapes.models import Tape
from tests.federation.conftest import COLLECTION, at_of, federate
from tests.support.encoded import Encoded
from tests.support.lexicon import reference
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def test_a_ready_tape_becomes_a_valid_record_with_our_mp4(
    user: Any, link: Any, ready_tape: Callable[..., Tape], encoded: Encoded, pds: Pds, api: Any
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    outcome = federate(tape)
    assert outcome.state == FederationState.DONE
    tape.refresh_from_db()
    at = at_of(tape)
    assert at["uri"] == f"at://{remote.did}/{COLLECTION}/{at['rkey']}"

    got = pds.get_record(remote.did, COLLECTION, at["rkey"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["uri"], body["cid"]) == (at["uri"], at["cid"])
    record = body["value"]
    assert record["code"] == tape.code and record["slug"] == tape.slug
    assert record["ref"] == str(tape.pk)
    assert record["video"]["mimeType"] == "video/mp4"
    assert record["aspectRatio"] == {"width": encoded.width, "height": encoded.height}
    assert record["thumbnail"]["mimeType"] == "image/webp"

    video = pds.get_blob(remote.did, record["video"]["ref"]["$link"])
    assert video.status_code == 200
    assert video.content == encoded.mp4
    thumb = pds.get_blob(remote.did, record["thumbnail"]["ref"]["$link"])
    assert thumb.content == encoded.thumbnail

    # What the PDS holds validates against the lexicon: the reference validator and ours.
    assert reference([record]) == [{"valid": True, "error": None}]
    tape_lexicon().validate_record(record)

    api.force_login(user)
    shown = api.get(f"/api/tapes/{tape.code}").json()
    assert shown["at"] == {"uri": at["uri"], "rkey": at["rkey"], "cid": at["cid"]}
    assert shown["federation"] == {"state": "done", "code": None, "message": None}
