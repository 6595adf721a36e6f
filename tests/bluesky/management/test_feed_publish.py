"""manage.py bluesky_feed_publish against the reference PDS: the app.bsky.feed.generator record
is written once, valid per the published lexicon, and removed by --delete."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from tests.support.lexicon import reference_bsky
from tests.support.pds import Account, Pds

pytestmark = pytest.mark.django_db

COLLECTION = "app.bsky.feed.generator"


@pytest.fixture
def publisher(settings: Any, atproto_settings: Pds) -> Account:
    account = atproto_settings.create_account()
    settings.BLUESKY_FEED_PUBLISHER_IDENTIFIER = account.handle
    settings.BLUESKY_FEED_PUBLISHER_APP_PASSWORD = account.app_password
    settings.BLUESKY_FEED_PUBLISHER_DID = ""
    settings.BLUESKY_FEED_RKEY = "tapes"
    settings.BLUESKY_FEEDGEN_HOSTNAME = "tapes.example"
    return account


def publish(capsys: Any, *args: str) -> str:
    call_command("bluesky_feed_publish", *args)
    return str(capsys.readouterr().out)


def test_publish_writes_a_valid_feed_generator_record_once(
    publisher: Account, atproto_settings: Pds, capsys: Any
) -> None:
    out = publish(capsys)

    uri = f"at://{publisher.did}/{COLLECTION}/tapes"
    assert f"published: {uri}" in out
    assert f"https://bsky.app/profile/{publisher.did}/feed/tapes" in out
    # The publisher was named by handle: the site must be told its DID to serve the feed.
    assert f"BLUESKY_FEED_PUBLISHER_DID={publisher.did}" in out
    got = atproto_settings.get_record(publisher.did, COLLECTION, "tapes")
    assert got.status_code == 200
    record = got.json()["value"]
    assert record["$type"] == COLLECTION
    assert record["did"] == "did:web:tapes.example"
    assert record["displayName"] == "Tapes"
    assert "tapes.example" in record["description"]
    assert reference_bsky(COLLECTION, [record]) == [{"valid": True, "error": None}]

    again = publish(capsys)
    assert f"unchanged: {uri}" in again
    assert len(atproto_settings.list_records(publisher.did, COLLECTION)) == 1
    assert atproto_settings.get_record(publisher.did, COLLECTION, "tapes").json()["value"] == record


def test_a_changed_record_is_put_in_place_keeping_its_creation_time(
    publisher: Account, atproto_settings: Pds, settings: Any, capsys: Any
) -> None:
    publish(capsys)
    first = atproto_settings.get_record(publisher.did, COLLECTION, "tapes").json()["value"]
    settings.BLUESKY_FEEDGEN_HOSTNAME = "tapes.example.org"
    settings.BLUESKY_FEED_PUBLISHER_DID = publisher.did

    out = publish(capsys, "--description", "Every public tape, newest first.")

    assert "published:" in out
    assert "BLUESKY_FEED_PUBLISHER_DID" not in out
    records = atproto_settings.list_records(publisher.did, COLLECTION)
    assert len(records) == 1
    value = records[0]["value"]
    assert value["did"] == "did:web:tapes.example.org"
    assert value["description"] == "Every public tape, newest first."
    assert value["createdAt"] == first["createdAt"]
    assert reference_bsky(COLLECTION, [value]) == [{"valid": True, "error": None}]


def test_an_avatar_is_uploaded_as_a_blob_and_kept_by_later_runs(
    publisher: Account, atproto_settings: Pds, tmp_path: Any, capsys: Any
) -> None:
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 90)).save(png, format="PNG")
    avatar = tmp_path / "avatar.png"
    avatar.write_bytes(png.getvalue())

    publish(capsys, "--avatar", str(avatar))
    record = atproto_settings.get_record(publisher.did, COLLECTION, "tapes").json()["value"]
    assert record["avatar"]["mimeType"] == "image/png"
    assert reference_bsky(COLLECTION, [record]) == [{"valid": True, "error": None}]
    blob = atproto_settings.get_blob(publisher.did, record["avatar"]["ref"]["$link"])
    assert blob.content == png.getvalue()

    assert "unchanged" in publish(capsys)
    again = atproto_settings.get_record(publisher.did, COLLECTION, "tapes").json()["value"]
    assert again["avatar"] == record["avatar"]


def test_delete_removes_the_record(publisher: Account, atproto_settings: Pds, capsys: Any) -> None:
    publish(capsys)
    assert atproto_settings.get_record(publisher.did, COLLECTION, "tapes").status_code == 200

    out = publish(capsys, "--delete")

    assert f"deleted: at://{publisher.did}/{COLLECTION}/tapes" in out
    assert atproto_settings.get_record(publisher.did, COLLECTION, "tapes").status_code != 200
    assert atproto_settings.list_records(publisher.did, COLLECTION) == []
    assert "absent:" in publish(capsys, "--delete")


def test_identifier_option_and_refusals(
    publisher: Account, atproto_settings: Pds, settings: Any, capsys: Any
) -> None:
    other = atproto_settings.create_account()
    settings.BLUESKY_FEED_PUBLISHER_IDENTIFIER = ""
    settings.BLUESKY_FEED_PUBLISHER_APP_PASSWORD = other.app_password
    out = publish(capsys, "--identifier", other.did)
    assert f"published: at://{other.did}/{COLLECTION}/tapes" in out
    assert len(atproto_settings.list_records(other.did, COLLECTION)) == 1

    with pytest.raises(CommandError, match="BLUESKY_FEED_PUBLISHER_IDENTIFIER"):
        call_command("bluesky_feed_publish")
    settings.BLUESKY_FEED_PUBLISHER_IDENTIFIER = publisher.handle
    settings.BLUESKY_FEED_PUBLISHER_APP_PASSWORD = "wrong-wrong-wrong-wrong"
    with pytest.raises(CommandError, match="pds_auth_failed"):
        call_command("bluesky_feed_publish")
    assert atproto_settings.list_records(publisher.did, COLLECTION) == []


def test_an_avatar_bluesky_would_refuse_is_refused_before_writing(
    publisher: Account, atproto_settings: Pds, tmp_path: Any
) -> None:
    svg = tmp_path / "icon.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(CommandError, match="avatar_type"):
        call_command("bluesky_feed_publish", "--avatar", str(svg))
    assert atproto_settings.list_records(publisher.did, COLLECTION) == []
