"""The recorder library's limits (docs/tape-format.md, docs/recorder.md) in headless Chromium:
a take stops itself at 60 s or 3600 frames, an oversized canvas is refused at once, and the
site's upload limit comes back as a stable code with its details; a refused post resumes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tapes.archive import inspect_archive
from tapes.models import Tape
from tests.recorder.conftest import open_library, save_zip

pytestmark = pytest.mark.django_db(transaction=True)

# 61 one-second frames: the take stops by itself after 60 of them with a "limit" event; the
# 61st frame() is refused.
SIXTY_ONE_SECONDS = """async () => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 8, height: 8});
    const ctx = canvas.getContext('2d');
    const take = Tapes.record(canvas, {mode: 'frames', piece: 'long'});
    let limits = 0;
    let stateAtLimit = null;
    take.addEventListener('limit', () => { limits += 1; stateAtLimit = take.state; });
    let refused = null;
    for (let i = 0; i < 61; i += 1) {
        ctx.fillStyle = `rgb(${i * 4}, 0, 0)`;
        ctx.fillRect(0, 0, 8, 8);
        try { await take.frame(1000); } catch (error) { refused = [i, error.code]; break; }
    }
    window.result = await take.stop();
    return {limits, stateAtLimit, refused, frames: result.frames, ms: result.durationMs,
            state: take.state};
}"""


def test_frames_mode_stops_at_sixty_seconds(page: Any, live_server: Any, tmp_path: Path) -> None:
    open_library(page, live_server)
    out = page.evaluate(SIXTY_ONE_SECONDS)
    assert out == {
        "limits": 1,
        "stateAtLimit": "packing",
        "refused": [60, "not_recording"],
        "frames": 60,
        "ms": 60000,
        "state": "recorded",
    }
    saved = save_zip(page, "result", tmp_path / "sixty.zip")
    info = inspect_archive(saved)
    assert info.frames == 60
    assert sum(info.durations_ms) == 60000


# A frame that crosses the limit is cut to end exactly at it (and is the last).
CROSSING = """async () => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 4, height: 4});
    canvas.getContext('2d').fillRect(0, 0, 4, 4);
    const take = Tapes.record(canvas, {mode: 'frames', maxSeconds: 1});
    let limited = false;
    take.addEventListener('limit', () => { limited = true; });
    await take.frame(700);
    await take.frame(700);
    window.result = await take.stop();
    return {limited, durations: result.durations};
}"""


def test_a_frame_crossing_the_limit_ends_exactly_at_it(page: Any, live_server: Any) -> None:
    open_library(page, live_server)
    assert page.evaluate(CROSSING) == {"limited": True, "durations": [700, 300]}


MANY_FRAMES = """async () => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 2, height: 2});
    canvas.getContext('2d').fillRect(0, 0, 2, 2);
    const take = Tapes.record(canvas, {mode: 'frames', piece: 'many'});
    let limited = false;
    take.addEventListener('limit', () => { limited = true; });
    let calls = 0;
    while (take.state === 'recording') { await take.frame(10); calls += 1; }
    window.result = await take.stop();
    return {limited, calls, frames: result.frames, ms: result.durationMs};
}"""


def test_frames_mode_stops_at_3600_frames(page: Any, live_server: Any, tmp_path: Path) -> None:
    open_library(page, live_server)
    assert page.evaluate(MANY_FRAMES) == {
        "limited": True,
        "calls": 3600,
        "frames": 3600,
        "ms": 36000,
    }
    saved = save_zip(page, "result", tmp_path / "many.zip")
    assert inspect_archive(saved).frames == 3600


REFUSED = """() => {
    const tries = {
        big2d: () => Object.assign(document.createElement('canvas'), {width: 2048, height: 2048}),
        wide: () => Object.assign(document.createElement('canvas'), {width: 1025, height: 10}),
        biggl: () => {
            const c = Object.assign(document.createElement('canvas'), {width: 2048, height: 2048});
            c.getContext('webgl');
            return c;
        },
        empty: () => Object.assign(document.createElement('canvas'), {width: 0, height: 10}),
        notCanvas: () => document.createElement('div'),
        bitmaprenderer: () => {
            const c = document.createElement('canvas');
            c.getContext('bitmaprenderer');
            return c;
        },
    };
    const out = {};
    for (const [name, make] of Object.entries(tries)) {
        try { Tapes.record(make()); out[name] = 'recorded'; }
        catch (e) {
            out[name] = {code: e.code, message: e.message,
                         isTapesError: e instanceof Tapes.TapesError,
                         details: e.details, words: Tapes.describe(e)};
        }
    }
    const ok = Object.assign(document.createElement('canvas'), {width: 1024, height: 1024});
    const take = Tapes.record(ok);
    out.exactLimit = take.state;
    take.discard();
    out.afterDiscard = take.state;
    const bad = [['mode', {mode: 'slow'}], ['maxSeconds', {maxSeconds: 61}],
                 ['piece', {piece: 'Has Spaces'}], ['blankColour', {blankColour: 'red'}]];
    for (const [name, options] of bad) {
        try { Tapes.record(ok, options).discard(); out[name] = 'recorded'; }
        catch (e) { out[name] = [e.code, e.details.option]; }
    }
    return out;
}"""


def test_unusable_canvases_and_options_are_refused_at_once(page: Any, live_server: Any) -> None:
    open_library(page, live_server)
    out = page.evaluate(REFUSED)
    too_large = "The canvas is larger than tapes may be: at most 1024 x 1024 pixels."
    assert out["big2d"] == {
        "code": "canvas_too_large",
        "message": too_large,
        "isTapesError": True,
        "details": {"width": 2048, "height": 2048, "max_width": 1024, "max_height": 1024},
        "words": too_large,
    }
    assert out["wide"]["code"] == "canvas_too_large"
    assert out["biggl"]["code"] == "canvas_too_large"
    assert out["empty"]["code"] == "canvas_empty"
    assert out["notCanvas"]["code"] == "canvas_invalid"
    assert out["bitmaprenderer"]["code"] == "canvas_unreadable"
    for refused in ("empty", "notCanvas", "bitmaprenderer"):
        assert out[refused]["message"] == out[refused]["words"] != out[refused]["code"]
    assert (out["exactLimit"], out["afterDiscard"]) == ("recording", "discarded")
    assert out["mode"] == ["option_invalid", "mode"]
    assert out["maxSeconds"] == ["option_invalid", "maxSeconds"]
    assert out["piece"] == ["option_invalid", "piece"]
    assert out["blankColour"] == ["option_invalid", "blankColour"]


POST_REFUSED = """async () => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 16, height: 16});
    const ctx = canvas.getContext('2d');
    const take = window.take = Tapes.record(canvas, {mode: 'frames', piece: 'big'});
    for (let i = 0; i < 4; i += 1) {
        ctx.fillStyle = `rgb(${i * 60}, 90, 200)`; ctx.fillRect(0, 0, 16, 16);
        await take.frame(50);
    }
    await take.stop();
    try { await take.post(); return 'posted'; }
    catch (e) {
        return {code: e.code, step: e.step, status: e.status, details: e.details,
                words: Tapes.describe(e), state: take.state};
    }
}"""


def test_the_sites_upload_limit_is_a_code_with_its_details_and_post_resumes(
    page: Any, live_server: Any, settings: Any
) -> None:
    open_library(page, live_server)
    settings.TAPES_UPLOAD_MAX_BYTES = 64  # smaller than any take
    out = page.evaluate(POST_REFUSED)
    assert out["code"] == "upload_too_large"
    assert (out["step"], out["status"], out["state"]) == ("start", 400, "failed")
    assert out["details"]["max_bytes"] == 64
    assert (
        out["words"]
        == "This take is too big to post. Record a shorter one. (The limit is 64 bytes.)"
    )

    settings.TAPES_UPLOAD_MAX_BYTES = 100 * 1024 * 1024
    posted = page.evaluate(
        "async () => { const a = await take.post(); return [a.code, take.state]; }"
    )
    assert posted[1] == "posted"
    tape = Tape.objects.get(code=posted[0])
    assert tape.slug.startswith("big-")
    # Posting a posted take again answers the same, posting nothing more.
    again = page.evaluate("async () => (await take.post()).code")
    assert again == posted[0]
    assert Tape.objects.count() == 1


def test_the_archive_is_the_documented_tape_format(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    open_library(page, live_server)
    page.evaluate(
        """async () => {
            const canvas = document.createElement('canvas');
            canvas.width = 300; canvas.height = 200;
            const ctx = canvas.getContext('2d');
            const take = Tapes.record(canvas, {mode: 'frames', piece: 'noise'});
            for (let f = 0; f < 3; f += 1) {
                const image = ctx.createImageData(300, 200);  // > 256 colours: truecolour PNG
                for (let i = 0; i < image.data.length; i += 4) {
                    image.data[i] = (i / 4) % 256; image.data[i + 1] = (i / 1024 + f * 40) % 256;
                    image.data[i + 2] = f * 90; image.data[i + 3] = 255;
                }
                ctx.putImageData(image, 0, 0);
                await take.frame(20);
            }
            window.result = await take.stop();
        }"""
    )
    saved = save_zip(page, "result", tmp_path / "noise.zip")
    info = inspect_archive(saved)
    assert (info.frames, info.width, info.height, info.scale) == (3, 300, 200, 1)
    assert info.discrepancies == ()
    assert info.metadata_shape == "canonical"
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
        metadata = json.loads(archive.read("metadata.json"))
        png = archive.read("frame000000.png")
    assert sorted(names) == [
        *(f"frame{i:06d}.png" for i in range(3)),
        "metadata.json",
        "timing.json",
    ]
    assert png[25] == 2  # colour type 2: 8-bit RGB (more than 256 colours)
    assert metadata["frames"] == 3
    assert metadata["duration"] == 60
