"""Tapes as rows, in any state the pipeline leaves them, for tests of what reads them (pages,
retry): ``make_tape(status=..., user=..., media=True, **fields)``. With ``media`` a real
thumbnail and animated preview (WebP) are stored for it, so a browser can show them; with
``encoded`` (``tests.support.encoded``) the encoder's own ZIP, MP4, thumbnail and preview are, so
its video plays too."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from tapes.models import Tape, TapeStatus
from tapes.storage import storage_for
from tests.support.encoded import Encoded, encode_synthetic
from tests.tapes.factories import TapeFactory

_serial = itertools.count()


def _webp(colour: tuple[int, int, int], frames: int = 1) -> bytes:
    images = [
        Image.new("RGB", (64, 48), tuple((c + 40 * i) % 256 for c in colour)) for i in range(frames)
    ]
    out = io.BytesIO()
    images[0].save(out, "WEBP", save_all=frames > 1, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


@pytest.fixture(scope="session")
def small_encoded(tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    """A short real tape encoded once per session: ``make_tape(encoded=small_encoded)`` for a page
    whose video must really play (a missing MP4 sends the page into its retry loop)."""
    return encode_synthetic(
        tmp_path_factory.mktemp("small"), frames=12, width=64, height=48, scale=1, seed=5
    )


@pytest.fixture
def make_tape(local_storage: Path) -> Any:
    """``make_tape(status=..., user=..., media=True, **fields)``: a tape row as the pipeline
    leaves it; with ``media`` a real thumbnail and animated preview are stored for it, with
    ``zip_content`` that ZIP as its upload, with ``encoded`` everything the encoder made of a
    synthetic tape (its ZIP, MP4, thumbnail, preview, size and frame times)."""

    def make(
        *,
        media: bool = False,
        zip_content: bytes | None = None,
        encoded: Encoded | None = None,
        ago: int = 0,
        **fields: Any,
    ) -> Tape:
        n = next(_serial)
        when = timezone.now() - timedelta(seconds=ago)
        user = fields.get("user")
        bucket = settings.TAPES_USER_BUCKET if user else settings.TAPES_GUEST_BUCKET
        slug = f"draw-{when:%Y.%m.%d.%H.%M.%S}.{n % 1000:03d}"
        prefix = f"users/{user.pk}/" if user else ""
        defaults: dict[str, Any] = {
            "code": f"tq{n}x",
            "slug": slug,
            "when": when,
            "bucket": bucket,
            "status": TapeStatus.READY,
            "progress": 100,
            "status_changed_at": when,
            "piece": "draw",
            "zip_key": f"{prefix}{slug}.zip",
            "frames": 120,
            "duration_ms": 2000,
            "width": 256,
            "height": 192,
            "scale": 1,
        }
        if encoded is not None:
            media = True
            zip_content = zip_content if zip_content is not None else encoded.zip or None
            defaults.update(
                frames=encoded.frames,
                duration_ms=encoded.duration_ms,
                frame_ms=list(encoded.frame_ms),
                width=encoded.width,
                height=encoded.height,
            )
        defaults.update(fields)
        storage = storage_for(defaults["bucket"])
        if zip_content is not None:
            defaults["zip_key"] = storage.save(defaults["zip_key"], ContentFile(zip_content))
            defaults["zip_bytes"] = len(zip_content)
        if media:
            stem = defaults["zip_key"][: -len(".zip")]
            thumbnail = encoded.thumbnail if encoded else _webp((200, 60, 90))
            preview = (encoded.preview if encoded else b"") or _webp((30, 160, 220), frames=4)
            defaults["thumbnail_key"] = storage.save(f"{stem}-thumb.webp", ContentFile(thumbnail))
            defaults["preview_key"] = storage.save(f"{stem}-preview.webp", ContentFile(preview))
            defaults.setdefault("mp4_key", f"{stem}.mp4")
            if encoded is not None:
                defaults["mp4_key"] = storage.save(defaults["mp4_key"], ContentFile(encoded.mp4))
        return TapeFactory.create(**defaults)

    return make
