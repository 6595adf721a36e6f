"""Each encode attempt is counted and timed by outcome and code, for /metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from prometheus_client.parser import text_string_to_metric_families

from ops import metrics
from tapes import services
from tapes.models import Tape
from tapes.storage import storage_for
from tests.support import synth

pytestmark = pytest.mark.django_db


def encodes() -> dict[tuple[str, str], float]:
    body, _ = metrics.render()
    counts = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "tapesite_encode_duration_seconds_count":
                counts[(sample.labels["outcome"], sample.labels["code"])] = sample.value
    return counts


def posted(content: bytes) -> Tape:
    ticket = services.tape_upload_start(
        user=None, piece="m", size=len(content), base_url="http://x/"
    )
    storage_for(ticket.upload.bucket).save(ticket.upload.key, ContentFile(content))
    return services.tape_post(user=None, slug=ticket.upload.slug, upload_token=ticket.token).tape


def test_ready_failed_and_retried_attempts_are_counted(tmp_path: Path) -> None:
    synth.make_tape(tmp_path / "t.zip", frames=6, width=32, height=24, scale=2, seed=1)
    good = posted((tmp_path / "t.zip").read_bytes())
    bad = posted(b"not a zip")
    gone = services.tape_zip_take(tape=posted(b"soon deleted"))
    storage_for(gone.bucket).delete(gone.zip_key)

    services.tape_encode(tape_id=good.pk)
    services.tape_encode(tape_id=bad.pk)
    with pytest.raises(services.RetryLater):
        services.tape_encode(tape_id=gone.pk)

    assert encodes() == {
        ("ready", "ok"): 1,
        ("failed", "validation_not_zip"): 1,
        ("retry", "zip_missing"): 1,
    }
