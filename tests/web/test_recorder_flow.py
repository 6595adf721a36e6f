"""The product end to end in headless Chromium: draw, record, post, watch it become a video.

A live server, the real worker process, PostgreSQL, Redis and the local storage; nothing faked.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from PIL import Image

from tapes import services
from tapes.archive import inspect_archive
from tapes.models import Tape
from tapes.storage import storage_for
from tests.support.browser import CspWatch, save_screenshot
from tests.support.worker import tapes_worker, worker_log
from tests.web.conftest import canvas_ink, record_take, scribble, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_draw_record_post_and_watch(
    page: Any, live_server: Any, user: Any, local_storage: Path, tmp_path: Path
) -> None:
    sign_in(page, live_server, user)
    page.goto(live_server.url + "/")
    page.locator("#recorder[data-ready=true]").wait_for()
    assert canvas_ink(page, "#paper") == 0
    scribble(page, 0.3)
    assert canvas_ink(page, "#paper") > 50, "the brush did not draw"

    take = record_take(page, 2.0)
    assert 1.6 < take["ms"] / 1000 < 4.0
    assert take["frames"] >= 30, take  # one frame per animation frame, ~60 a second
    save_screenshot(page, "recorder-take")

    # The archive the page built, downloaded as a visitor would: the documented tape format.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP").click()
    saved = tmp_path / "take.zip"
    download.value.save_as(saved)
    info = inspect_archive(saved)
    assert info.frames == take["frames"]
    assert info.discrepancies == ()
    assert (info.width, info.height, info.scale) == (256, 192, 1)
    assert abs(sum(info.durations_ms) - take["ms"]) < 1
    with zipfile.ZipFile(saved) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        timing = json.loads(archive.read("timing.json"))
    assert metadata["piece"] == "draw"
    assert metadata["resolution"]["scale"] == 1
    assert metadata["frames"] == take["frames"] == len(timing)
    assert timing[0]["filename"] == "frame000000.png"
    with zipfile.ZipFile(saved) as archive:
        last = Image.open(io.BytesIO(archive.read(timing[-1]["filename"])))
    assert last.size == (256, 192)
    # A drawing's frames are palette PNGs: the paper and the red brush, nothing blended.
    assert last.mode == "P"
    colours = {rgb for _, rgb in last.convert("RGB").getcolors() or []}
    assert colours == {(0xFF, 0xF1, 0xE8), (0xFF, 0x00, 0x4D)}

    page.get_by_role("button", name="POST").click()
    posted = page.locator("#posted")
    posted.wait_for()
    assert "POSTED!" in posted.inner_text()
    code = page.locator("#posted-link").inner_text().removeprefix("!")
    tape = Tape.objects.get(code=code)
    assert tape.user == user
    assert tape.status == "queued"
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    stored = storage_for(tape.bucket).open(tape.zip_key, "rb").read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(saved.read_bytes()).digest()
    save_screenshot(page, "recorder-posted")

    # The tape page at once: no video yet, and the recording is not opened before the site has
    # checked it (the encode job's archive check).
    zip_fetches: list[str] = []
    page.on("request", lambda r: zip_fetches.append(r.url) if r.url.endswith("/zip") else None)
    page.locator("#posted-link").click()
    page.wait_for_url(f"**/t/{code}")
    page.locator("#tape[data-zip-playback=waiting]").wait_for()
    assert page.locator("#processing").is_visible()
    assert page.locator("#status-words").inner_text() == "In line to become a video"
    assert "once the site has checked it" in page.locator("#screen-note").inner_text()
    save_screenshot(page, "tape-processing")
    assert zip_fetches == []

    # A worker comes along; the page notices by itself and swaps in the MP4.
    with tapes_worker(local_storage):
        try:
            page.wait_for_function(
                """() => { const v = document.getElementById('tape-video');
                           return v && !v.hidden && v.readyState >= 2; }""",
                timeout=120_000,
            )
        except Exception:
            pytest.fail(f"the MP4 never played; worker said:\n{worker_log(local_storage)}")
    video = page.evaluate(
        """() => { const v = document.getElementById('tape-video');
                   return {duration: v.duration, loop: v.loop, src: v.currentSrc,
                           rendering: getComputedStyle(v).imageRendering}; }"""
    )
    assert abs(video["duration"] * 1000 - take["ms"]) <= 0.05 * take["ms"], video
    assert video["loop"] is True
    assert video["rendering"] == "pixelated"
    assert page.locator("#processing").is_hidden()
    assert page.locator("#download-mp4").is_visible()
    save_screenshot(page, "tape-ready")

    # A fresh load renders the video and the share tags on the server.
    page.reload()
    poster = page.locator("#tape-video").get_attribute("poster")
    assert poster and poster.endswith("/media/thumbnail")
    og_video = page.locator("meta[property='og:video']").get_attribute("content")
    assert og_video and og_video.startswith(live_server.url) and og_video.endswith("/media/mp4")
    assert page.request.get(og_video).ok
    by = page.get_by_role("link", name=user.display_name).first
    assert by.get_attribute("href") == f"/u/{user.username}"

    for path in ("/tapes", f"/u/{user.username}"):
        page.goto(live_server.url + path)
        card = page.locator("a.card-link", has_text=f"!{code}")
        card.wait_for()
        assert card.locator("img").get_attribute("src")
        save_screenshot(page, f"grid-{path.strip('/').replace('/', '-')}")


def test_a_refused_upload_fails_clearly_and_retry_needs_no_new_take(
    page: Any, live_server: Any, settings: Any
) -> None:
    page.goto(live_server.url + "/")
    take = record_take(page, 0.6)
    settings.TAPES_UPLOAD_MAX_BYTES = 64  # smaller than any take
    page.get_by_role("button", name="POST").click()
    failed = page.locator("#failed")
    failed.wait_for()
    assert "POST FAILED" in failed.inner_text()
    reason = page.locator("#failed-reason")
    assert reason.get_attribute("data-code") == "upload_too_large"
    assert "too big" in reason.inner_text()
    assert page.locator("#record").is_hidden()
    save_screenshot(page, "recorder-post-failed")

    settings.TAPES_UPLOAD_MAX_BYTES = 100 * 1024 * 1024
    page.get_by_role("button", name="Retry").click()
    page.locator("#posted").wait_for()
    code = page.locator("#posted-link").inner_text().removeprefix("!")
    tape = Tape.objects.get(code=code)
    assert tape.user is None
    # A guest keeps the claim token (shown once) for signing in later.
    claims = json.loads(page.evaluate("() => localStorage.getItem('tapesite.claims')") or "[]")
    assert [c["code"] for c in claims] == [code]
    assert claims[0]["token"]
    # Same take: nothing was recorded again.
    again = page.evaluate("() => ({...document.getElementById('recorder').dataset})")
    assert int(again["takeFrames"]) == take["frames"]
    assert Tape.objects.count() == 1


def test_a_lost_connection_while_registering_retries_only_the_registration(
    page: Any, live_server: Any
) -> None:
    page.goto(live_server.url + "/")
    record_take(page, 0.5)
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        if not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/tapes", drop_once)
    page.get_by_role("button", name="POST").click()
    page.locator("#failed").wait_for()
    assert page.locator("#failed-reason").get_attribute("data-code") == "network"
    assert "could not be reached" in page.locator("#failed-reason").inner_text()
    page.get_by_role("button", name="Retry").click()
    page.locator("#posted").wait_for()
    # The ZIP went up once: the retry only registered it.
    assert sum(u.endswith("/api/tapes/uploads") for u in uploads) == 1
    assert sum("/api/tapes/uploads/local?" in u for u in uploads) == 1
    assert Tape.objects.count() == 1


def test_a_guest_over_the_daily_quota_is_told_when_posting_opens_again(
    page: Any, live_server: Any, settings: Any
) -> None:
    from tapes import services

    settings.TAPES_QUOTA_GUEST_TAPES_PER_DAY = 1
    # This address already holds the day's only upload (the page comes from 127.0.0.1 too).
    held = services.tape_upload_start(
        user=None, piece="x", size=10, base_url=live_server.url, client="127.0.0.1"
    )
    page.goto(live_server.url + "/")
    record_take(page, 0.5)
    page.get_by_role("button", name="POST").click()
    page.locator("#failed").wait_for()
    reason = page.locator("#failed-reason")
    assert reason.get_attribute("data-code") == "quota_exceeded"
    text = reason.inner_text()
    assert "as much as a day allows" in text
    assert "You can post again after" in text and "Signing in" in text
    save_screenshot(page, "recorder-quota-exceeded")
    assert Tape.objects.count() == 0
    assert held.upload.tape is None


@pytest.mark.s3
def test_posting_straight_to_s3_from_the_browser(
    page: Any, live_server: Any, s3_storage: Any
) -> None:
    """The presigned POST goes cross-origin to a real S3 (SeaweedFS), with upload progress, and
    the tape page plays the frames from the bucket."""
    call_command("tapes_storage_setup", "--cors-origin", live_server.url, stdout=io.StringIO())
    csp = CspWatch(page)  # the upload and the media go to another origin: the policy allows it
    page.goto(live_server.url + "/")
    take = record_take(page, 0.8)
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="POST").click()
    page.locator("#posted").wait_for()
    assert any(url.startswith(s3_storage.endpoint) for url in uploads), uploads
    code = page.locator("#posted-link").inner_text().removeprefix("!")
    tape = Tape.objects.get(code=code)
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    assert storage_for(tape.bucket).size(tape.zip_key) == tape.zip_bytes
    page.locator("#posted-link").click()
    page.locator("#tape[data-zip-playback=waiting]").wait_for()
    # What the encode job records once its archive check passed; the page sees it by polling
    # and fetches the ZIP through the media link's redirect to the bucket.
    Tape.objects.filter(pk=tape.pk).update(frames=take["frames"])
    page.locator("#tape[data-zip-playback=playing]").wait_for()
    assert page.locator("#tape").get_attribute("data-zip-frames") == str(take["frames"])
    assert csp.violations() == []


def test_the_recorder_stops_itself_at_the_limit(
    page: Any, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    settings.TAPES_RECORD_LIMIT_SECONDS = 2
    page.goto(live_server.url + "/")
    page.locator("#recorder[data-ready=true]").wait_for()
    assert page.locator("#rec-limit").inner_text() == "0.0 / 2 s"
    page.get_by_role("button", name="Record").click()
    scribble(page, 0.5)
    # Nobody presses Stop: the limit does.
    page.locator("#recorder[data-state=recorded]").wait_for(timeout=10_000)
    take_ms = float(page.locator("#recorder").get_attribute("data-take-ms") or 0)
    assert 1990 <= take_ms <= 2000
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP").click()
    download.value.save_as(tmp_path / "take.zip")
    info = inspect_archive(tmp_path / "take.zip")
    assert info.total_duration_ms <= 2000
    assert abs(info.total_duration_ms - take_ms) < 0.01
