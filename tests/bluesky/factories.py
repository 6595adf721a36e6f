"""factory_boy factories for the bluesky app's test data: rows only (no PDS behind them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory
from factory.django import DjangoModelFactory

from bluesky.models import BlueskyEmbed, BlueskyPost, BlueskyPostState
from tests.tapes.factories import ReadyTapeFactory

_POSTED_FROM = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class BlueskyPostFactory(DjangoModelFactory[BlueskyPost]):
    """A tape's post as the posting job leaves it once written (``done``, its at:// URI set),
    of a fresh public ready tape; each one a second later than the one before.
    ``pending=True`` / ``failed=True`` make one that never got written."""

    class Meta:
        model = BlueskyPost

    tape = factory.SubFactory(ReadyTapeFactory)
    state = BlueskyPostState.DONE
    wanted = True
    embed = BlueskyEmbed.VIDEO
    did = "did:plc:poster"
    pds_url = "http://127.0.0.1:9/"
    rkey = factory.Sequence(lambda n: f"3lpost{n:07d}")
    uri = factory.LazyAttribute(lambda o: f"at://{o.did}/app.bsky.feed.post/{o.rkey}")
    cid = factory.Sequence(lambda n: f"bafyreipost{n}")
    progress = 100
    posted_at = factory.Sequence(lambda n: _POSTED_FROM + timedelta(seconds=n))

    class Params:
        pending = factory.Trait(
            state=BlueskyPostState.PENDING, embed="", rkey="", uri="", cid="", posted_at=None
        )
        failed = factory.Trait(
            state=BlueskyPostState.FAILED,
            embed="",
            rkey="",
            uri="",
            cid="",
            posted_at=None,
            code="bluesky_video_refused",
            message="Bluesky did not take the video.",
        )
