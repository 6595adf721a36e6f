"""Edits and visibility against the real reference PDS: an edit of a tape's words puts its record
again under the same rkey with the same blobs; going unlisted withdraws the record and going
public again brings one back; reconcile leaves unlisted tapes alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from federation import xrpc
from federation.models import FederationState
from federation.services import tape_federate, tapes_federation_reconcile
from federation.services.records import placeholder_blob, tape_lexicon, tape_record
from tapes.models import Tape
from tapes.services import tape_edit
from tests.federation.conftest import COLLECTION, at_of, fed_of, federate
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def record_value(pds: Pds, did: str, rkey: str) -> dict[str, Any]:
    response = pds.get_record(did, COLLECTION, rkey)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_edit_puts_the_record_again_same_rkey_same_blobs_new_words(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    assert federate(tape).state == FederationState.DONE
    before = at_of(tape)
    first = record_value(pds, remote.did, before["rkey"])
    assert "title" not in first["value"]
    uploads: list[str] = []
    real_upload = xrpc.Xrpc.upload_blob

    def counting_upload(self: xrpc.Xrpc, *args: Any, **kwargs: Any) -> dict[str, Any]:
        uploads.append(args[1])
        return real_upload(self, *args, **kwargs)

    monkeypatch.setattr(xrpc.Xrpc, "upload_blob", counting_upload)

    with django_capture_on_commit_callbacks(execute=True):
        tape_edit(
            tape=tape,
            actor=user,
            title="Sunset 🌅 loop",
            description="Drawn on the bus.\n\nSecond take.",
            alt_text="An orange line sweeps left to right.",
        )
    fed = fed_of(tape)
    assert fed.state == FederationState.PENDING, "the edit queued an update"
    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE

    after = at_of(tape)
    assert after["rkey"] == before["rkey"] and after["uri"] == before["uri"]
    assert after["cid"] != before["cid"]
    got = record_value(pds, remote.did, before["rkey"])
    assert got["cid"] == after["cid"]
    value = got["value"]
    assert value["title"] == "Sunset 🌅 loop"
    assert value["description"] == "Drawn on the bus.\n\nSecond take."
    assert value["alt"] == "An orange line sweeps left to right."
    assert value["video"]["ref"] == first["value"]["video"]["ref"]
    assert value["thumbnail"]["ref"] == first["value"]["thumbnail"]["ref"]
    assert uploads == [], "no blob was uploaded again"
    assert len(pds.list_records(remote.did, COLLECTION)) == 1
    tape.refresh_from_db()
    assert fed_of(tape).revision == tape.revision == 1
    # Nothing more to do: a second run writes nothing.
    assert tape_federate(tape_id=tape.pk).state == "skipped"


def test_an_edit_while_the_record_is_being_created_ends_with_the_latest_words(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    tape_edit(tape=tape, actor=user, title="first words")
    real_create = xrpc.Xrpc.create_record

    def create_then_edit(self: xrpc.Xrpc, *args: Any, **kwargs: Any) -> dict[str, Any]:
        created = real_create(self, *args, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            tape_edit(tape=Tape.objects.get(pk=tape.pk), actor=user, title="latest words")
        return created

    monkeypatch.setattr(xrpc.Xrpc, "create_record", create_then_edit)
    outcome = federate(tape)
    monkeypatch.setattr(xrpc.Xrpc, "create_record", real_create)
    # The run wrote "first words", saw the edit when recording its result, and asks again.
    assert (outcome.state, outcome.code) == (FederationState.PENDING, "edited")
    rkey = fed_of(tape).rkey
    assert record_value(pds, remote.did, rkey)["value"]["title"] == "first words"
    assert at_of(tape)["rkey"] == rkey, "the record is shown while its update waits"

    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE
    records = pds.list_records(remote.did, COLLECTION)
    assert [r["value"]["title"] for r in records] == ["latest words"]
    assert at_of(tape)["rkey"] == rkey


def test_unlisted_withdraws_the_record_and_public_brings_one_back(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    federate(tape)
    first = at_of(tape)["rkey"]

    with django_capture_on_commit_callbacks(execute=True):
        tape_edit(tape=tape, actor=user, visibility="unlisted")
    assert fed_of(tape).wanted is False
    assert tape_federate(tape_id=tape.pk).state == FederationState.NONE
    assert pds.list_records(remote.did, COLLECTION) == []
    assert pds.get_record(remote.did, COLLECTION, first).status_code == 400
    assert at_of(tape) == {}

    # Reconcile does not bring an unlisted tape back.
    report = tapes_federation_reconcile()
    assert tape.pk not in report.started
    assert tape_federate(tape_id=tape.pk).state == "skipped"
    assert pds.list_records(remote.did, COLLECTION) == []

    with django_capture_on_commit_callbacks(execute=True):
        tape_edit(tape=Tape.objects.get(pk=tape.pk), actor=user, visibility="public")
    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE
    records = pds.list_records(remote.did, COLLECTION)
    assert len(records) == 1
    assert at_of(tape)["rkey"] != first
    assert records[0]["uri"] == at_of(tape)["uri"]


def test_an_unlisted_tape_is_never_federated_even_by_reconcile(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    Tape.objects.filter(pk=tape.pk).update(visibility="unlisted")
    tape.refresh_from_db()
    assert federate(tape).state == "skipped"
    assert tape.pk not in tapes_federation_reconcile().started
    assert pds.list_records(remote.did, COLLECTION) == []


def test_words_longer_than_the_record_allows_are_clipped_to_a_valid_record(
    user: Any, ready_tape: Callable[..., Tape]
) -> None:
    tape = ready_tape(user)
    tape.title = "😀" * 100  # 100 characters on the site, 400 bytes: over the record's 300
    tape.alt_text = "plain words"
    record = tape_record(tape, video=placeholder_blob("video/mp4", 1000), thumbnail=None)
    tape_lexicon().validate_record(record)
    assert record["title"] == "😀" * 74 + "…"
    assert record["alt"] == "plain words"
    assert "description" not in record
