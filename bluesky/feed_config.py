"""The "Tapes" feed's settings, read once per use (tests change them): the site's did:web, the
publisher's DID and rkey, and whether the feed generator answers at all."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from bluesky import feedgen


@dataclass(frozen=True)
class FeedConfig:
    hostname: str
    publisher_did: str
    rkey: str
    enabled: bool

    @property
    def service_did(self) -> str:
        return feedgen.did_web(self.hostname)

    @property
    def feed_uri(self) -> str:
        return feedgen.feed_uri(self.publisher_did, self.rkey)


def feedgen_hostname() -> str:
    configured = str(settings.BLUESKY_FEEDGEN_HOSTNAME or "").strip()
    if configured:
        return configured.lower()
    # netloc keeps the port: a site on a port is a did:web with it (%3A).
    return urlsplit(str(settings.TAPES_SITE_URL)).netloc.lower()


def publisher_did() -> str:
    configured = str(settings.BLUESKY_FEED_PUBLISHER_DID or "").strip()
    if configured:
        return configured
    identifier = str(settings.BLUESKY_FEED_PUBLISHER_IDENTIFIER or "").strip()
    return identifier if identifier.startswith("did:") else ""


def feed_config() -> FeedConfig:
    did = publisher_did()
    enabled = settings.BLUESKY_FEEDGEN_ENABLED
    return FeedConfig(
        hostname=feedgen_hostname(),
        publisher_did=did,
        rkey=str(settings.BLUESKY_FEED_RKEY),
        # Explicitly on without a publisher DID is still off: there would be no feed to name.
        enabled=bool(did) and (enabled is None or bool(enabled)),
    )
