"""Publishing the "Tapes" feed: the ``app.bsky.feed.generator`` record on the publisher's
account, which is what people find, like and pin in their Bluesky app. The record names the
site's did:web; Bluesky's AppView resolves it to the site and calls getFeedSkeleton there.

Operator-driven (manage.py bluesky_feed_publish): it writes to an account, not to the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bluesky import feedgen
from bluesky.feed_config import FeedConfig
from federation import remote
from federation.identity import Identity

COLLECTION = feedgen.GENERATOR_COLLECTION
DISPLAY_NAME = "Tapes"
#: Bluesky takes PNG or JPEG avatars up to 1,000,000 bytes (the lexicon's limits).
AVATAR_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
AVATAR_MAX_BYTES = 1_000_000


class FeedPublishError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Published:
    uri: str
    #: "published" (written), "unchanged" (the PDS already held this record), "deleted",
    #: "absent" (--delete with nothing there).
    outcome: str
    record: dict[str, Any] | None

    @property
    def app_url(self) -> str:
        _, _, rest = self.uri.partition("at://")
        did, _, rkey = rest.partition(f"/{COLLECTION}/")
        return f"https://bsky.app/profile/{did}/feed/{rkey}"


def default_description(hostname: str) -> str:
    return f"The newest public tapes from {hostname}: short animations drawn in the browser."


def avatar_type(data: bytes) -> str:
    """The media type of an avatar image, refused unless Bluesky takes it."""
    for magic, media_type in AVATAR_TYPES.items():
        if data.startswith(magic):
            if len(data) > AVATAR_MAX_BYTES:
                raise FeedPublishError(
                    "avatar_too_large", f"the avatar is over {AVATAR_MAX_BYTES} bytes"
                )
            return media_type
    raise FeedPublishError("avatar_type", "the avatar must be a PNG or JPEG image")


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def feed_generator_record(
    *,
    service_did: str,
    display_name: str,
    description: str,
    created_at: str,
    avatar: dict[str, Any] | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "$type": COLLECTION,
        "did": service_did,
        "displayName": display_name,
        "description": description,
        "createdAt": created_at,
    }
    if avatar is not None:
        record["avatar"] = avatar
    return record


def feed_publish(
    *,
    config: FeedConfig,
    publisher: Identity,
    app_password: str,
    display_name: str = DISPLAY_NAME,
    description: str | None = None,
    avatar: bytes | None = None,
) -> Published:
    """Write the feed's record at ``config.rkey`` on the publisher's PDS (putRecord: once, however
    often it runs). An existing record keeps its createdAt and, when no new avatar is given, its
    avatar; a record that would not change is not written again."""
    xrpc = remote.pds(publisher.pds_url)
    uri = feedgen.feed_uri(publisher.did, config.rkey)
    existing = xrpc.get_record(publisher.did, COLLECTION, config.rkey)
    old = existing["value"] if existing is not None else {}
    session: dict[str, Any] | None = None
    blob = old.get("avatar")
    if avatar is not None:
        media_type = avatar_type(avatar)
        session = xrpc.create_session(publisher.did, app_password)
        blob = xrpc.upload_blob(avatar, media_type, session["accessJwt"])
    record = feed_generator_record(
        service_did=config.service_did,
        display_name=display_name,
        description=description or default_description(config.hostname),
        created_at=str(old.get("createdAt") or _when(datetime.now(UTC))),
        avatar=blob,
    )
    if existing is not None and old == record:
        return Published(uri=str(existing.get("uri") or uri), outcome="unchanged", record=record)
    if session is None:
        session = xrpc.create_session(publisher.did, app_password)
    written = xrpc.put_record(publisher.did, COLLECTION, config.rkey, record, session["accessJwt"])
    return Published(uri=str(written.get("uri") or uri), outcome="published", record=record)


def feed_unpublish(*, config: FeedConfig, publisher: Identity, app_password: str) -> Published:
    """Delete the feed's record (people who pinned it see it gone); nothing to do if absent."""
    xrpc = remote.pds(publisher.pds_url)
    uri = feedgen.feed_uri(publisher.did, config.rkey)
    if xrpc.get_record(publisher.did, COLLECTION, config.rkey) is None:
        return Published(uri=uri, outcome="absent", record=None)
    session = xrpc.create_session(publisher.did, app_password)
    xrpc.delete_record(publisher.did, COLLECTION, config.rkey, session["accessJwt"])
    return Published(uri=uri, outcome="deleted", record=None)
