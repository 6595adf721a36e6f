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
