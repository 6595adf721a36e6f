"""Fixtures for the bluesky app's tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapes.models import Tape

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


@pytest.fixture
def encoded_tape(tmp_path: Path) -> Callable[[Any], Tape]:
    """``encoded_tape(user)``: a public tape of ``user`` encoded for real from a ZIP (the video
    service's copy is made from the ZIP, which ``ready_tape`` does not store)."""
    from tapes import services as tape_services
    from tapes.models import TapeStatus
    from tests.support import synth
    from tests.tapes.factories import TapeUploadFactory, post

    def make(user: Any) -> Tape:
        path = tmp_path / f"t{time.monotonic_ns()}.zip"
        synth.make_tape(path, frames=6, width=20, height=12, scale=1, seed=5)
        tape = post(TapeUploadFactory.create(content=path.read_bytes(), user=user), user=user)
        done = tape_services.tape_encode(tape_id=tape.pk)
        assert done is not None and done.status == TapeStatus.READY
        return done

    return make
