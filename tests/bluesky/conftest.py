"""Fixtures for the bluesky app's tests."""

from __future__ import annotations

from typing import Any

import pytest

PUBLISHER_DID = "did:plc:publisher0000000000000"
FEED_URI = f"at://{PUBLISHER_DID}/app.bsky.feed.generator/tapes"


@pytest.fixture
def feed_settings(settings: Any) -> Any:
    """The feed generator on, as an operator would set it: a host, the publisher's DID."""
    settings.BLUESKY_FEEDGEN_HOSTNAME = "tapes.example"
    settings.BLUESKY_FEED_PUBLISHER_DID = PUBLISHER_DID
    settings.BLUESKY_FEED_RKEY = "tapes"
    settings.BLUESKY_FEEDGEN_ENABLED = None
    return settings


# Linked accounts on the reference PDS and ready tapes with real MP4s, as federation's tests
# make them (tests/federation/conftest.py).
from tests.federation.conftest import encoded, link, ready_tape  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _video_service_down(settings: Any) -> None:
    """No test reaches Bluesky's real video service: unless a test asks for the stand-in
    (``video_service``, which points the settings at itself), the service's address is a
    loopback port nothing listens on, so the video cannot be used and the post is a link card."""
    settings.BLUESKY_VIDEO_SERVICE_URL = DOWN_VIDEO_SERVICE
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [
        *settings.TAPES_EGRESS_ALLOWED_ORIGINS,
        DOWN_VIDEO_SERVICE,
    ]


DOWN_VIDEO_SERVICE = "http://127.0.0.1:9"
