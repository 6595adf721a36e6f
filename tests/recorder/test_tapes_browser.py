"""The recorder library (static/tapes/tapes.js) in headless Chromium: what it records from 2D,
WebGL and offscreen canvases, the exact timing of frames mode, its limits, and posting to the live
server. Every ZIP is read back in Python by the archive reader the server uses."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tapes.archive import inspect_archive
from tapes.models import Tape
from tests.recorder.conftest import frames_of, open_library, save_zip
from tests.support.listeners import respond

pytestmark = pytest.mark.django_db(transaction=True)

# A 2D canvas drawn on every animation frame for ~0.6 s, recorded in realtime.
RECORD_2D = """async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 96; canvas.height = 64;
    document.body.append(canvas);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff1e8'; ctx.fillRect(0, 0, 96, 64);
    const take = Tapes.record(canvas, {piece: 'dots', blankColour: '#fff1e8'});
    const events = {frame: 0, statechange: []};
    take.addEventListener('frame', () => { events.frame += 1; });
    take.addEventListener('statechange', () => events.statechange.push(take.state));
    let n = 0;
    const started = performance.now();
    await new Promise((resolve) => {
        const draw = () => {
            ctx.fillStyle = n % 2 ? '#ff004d' : '#29adff';
            ctx.fillRect(n % 96, 20, 3, 3);
            n += 1;
            if (performance.now() - started < 600) requestAnimationFrame(draw);
            else resolve();
        };
        requestAnimationFrame(draw);
    });
    window.result = await take.stop();
    return {frames: result.frames, durationMs: result.durationMs, bytes: result.bytes,
            blank: result.blank, metadata: result.metadata, state: take.state, events, drawn: n,
            rafRestored: String(window.requestAnimationFrame).includes('[native code]')};
}"""


def test_records_a_2d_canvas_in_realtime(page: Any, live_server: Any, tmp_path: Path) -> None:
    assert open_library(page, live_server) == "1.1.0"
    out = page.evaluate(RECORD_2D)
    assert out["state"] == "recorded"
    assert out["events"]["statechange"] == ["packing", "recorded"]
    assert out["events"]["frame"] == out["frames"]
    # One frame per animation frame the page drew in (at most 60 a second).
    assert 20 <= out["frames"] <= out["drawn"] + 1, out
    assert 550 <= out["durationMs"] <= 900, out
    assert out["blank"] is False
    assert out["rafRestored"], "requestAnimationFrame stays wrapped after the take"
    meta = out["metadata"]
    assert meta["piece"] == "dots"
    assert meta["resolution"] == {
        "width": 96,
        "height": 64,
        "originalWidth": 96,
        "originalHeight": 64,
        "scale": 1,
    }

    saved = save_zip(page, "result", tmp_path / "take.zip")
    assert saved.stat().st_size == out["bytes"]
    info = inspect_archive(saved)
    assert info.frames == out["frames"]
    assert info.discrepancies == ()
    assert (info.width, info.height, info.scale) == (96, 64, 1)
    assert abs(sum(info.durations_ms) - out["durationMs"]) < 0.01
    frames = frames_of(saved)
    # The dots accumulate: the last frame shows both colours, the first far fewer dots.
    last = frames[-1]
    assert (255, 0, 77) in {last.getpixel((x, 21)) for x in range(96)}
    assert (41, 173, 255) in {last.getpixel((x, 21)) for x in range(96)}
    inked = [sum(1 for x in range(96) if f.getpixel((x, 21)) != (255, 241, 232)) for f in frames]
    assert inked[0] < inked[-1]


# Frames mode: each frame exactly its given duration, captured at the call (the canvas is drawn
# over at once after each frame() and that must not show).
FRAMES_MODE = """async ([durations, encoders]) => {
    const canvas = document.createElement('canvas');
    canvas.width = 40; canvas.height = 30;
    const ctx = canvas.getContext('2d');
    const take = Tapes.record(canvas, {mode: 'frames', piece: 'steps', encoders});
    for (let i = 0; i < durations.length; i += 1) {
        ctx.fillStyle = `rgb(${i * 9}, ${255 - i * 9}, 7)`;
        ctx.fillRect(0, 0, 40, 30);
        await take.frame(durations[i]);
        ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 40, 30);  // drawn after: not in the frame
    }
    window.result = await take.stop();
    return {frames: result.frames, durationMs: result.durationMs, metadata: result.metadata};
}"""


# 0: frames encoded in the packing worker itself (two cores or fewer); 3: a pool of encoder
# workers, PNGs coming back out of order and written in order.
@pytest.mark.parametrize("encoders", [0, 3])
def test_frames_mode_keeps_durations_exactly_as_given(
    page: Any, live_server: Any, tmp_path: Path, encoders: int
) -> None:
    open_library(page, live_server)
    durations = [33.3, 16.7, 50, 0.5, 1000, 16.666, 7.25, *([1000 / 60] * 20)]
    out = page.evaluate(FRAMES_MODE, [durations, encoders])
    assert out["frames"] == len(durations)
    saved = save_zip(page, "result", tmp_path / "frames.zip")
    with zipfile.ZipFile(saved) as archive:
        timing = json.loads(archive.read("timing.json"))
    assert [t["duration"] for t in timing] == durations
    sums = [round(sum(durations[:i]), 6) for i in range(len(durations))]
    assert [t["timestamp"] for t in timing] == sums
    assert [t["filename"] for t in timing] == [f"frame{i:06d}.png" for i in range(len(durations))]
    assert out["durationMs"] == round(sum(durations), 6) == out["metadata"]["duration"]
    info = inspect_archive(saved)
    assert info.frames == len(durations)
    assert info.discrepancies == ()
    for i, frame in enumerate(frames_of(saved)):
        assert frame.getpixel((5, 5)) == (i * 9, 255 - i * 9, 7), i


def test_posts_a_take_as_a_guest_and_keeps_the_claim(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    open_library(page, live_server)
    page.evaluate(RECORD_2D)
    posted = page.evaluate(
        """async () => {
            const take = window.lastTake = Tapes.record(
                Object.assign(document.createElement('canvas'), {width: 8, height: 8}),
                {mode: 'frames', piece: 'tiny', source: 'https://example.org/src.js', seed: '42'});
            take.canvas.getContext('2d').fillRect(0, 0, 4, 4);
            await take.frame(100);
            await take.stop();
            const steps = [];
            take.addEventListener('progress', (e) => steps.push(e.detail.step));
            const answer = await take.post();
            return {answer, steps: [...new Set(steps)], state: take.state,
                    claims: JSON.parse(localStorage.getItem('tapes.claims'))};
        }"""
    )
    answer = posted["answer"]
    assert posted["state"] == "posted"
    assert posted["steps"] == ["start", "upload", "register"]
    tape = Tape.objects.get(code=answer["code"])
    assert tape.user is None
    assert answer["url"] == f"{live_server.url}/t/{answer['code']}"
    token = answer["claim_token"]
    assert answer["claimUrl"] == f"{live_server.url}/claim?code={answer['code']}#token={token}"
    [claim] = posted["claims"]
    assert [claim["site"], claim["code"], claim["token"]] == [
        live_server.url,
        answer["code"],
        token,
    ]
    assert claim["at"]


def test_static_tapes_are_served_with_cors(client: Any) -> None:
    # whitenoise (the middleware that serves /static/ in every environment) allows any origin to
    # import the library and its worker as module scripts.
    library = ("tapes.js", "take.js", "capture.js", "realtime.js", "limits.js", "timing.js")
    for name in (*library, "pack-worker.js", "post.js", "errors.js", "png.js"):
        response = client.get(f"/static/tapes/{name}")
        assert response.status_code == 200, name
        assert response["Access-Control-Allow-Origin"] == "*", name
        assert "javascript" in response["Content-Type"], name
    vendor = client.get("/static/vendor/fflate/fflate.js")
    assert vendor["Access-Control-Allow-Origin"] == "*"


def test_records_when_imported_from_another_origin(
    page: Any, whitenoise_server: str, listener: Any, tmp_path: Path
) -> None:
    # A creative-coding site on another origin (a loopback listener the test owns) imports the
    # library by absolute URL: the packing worker must start all the same (from a blob: URL).
    html = b"<!doctype html><title>piece</title><canvas width=20 height=10></canvas>"
    other = listener(respond(body=html, headers={"Content-Type": "text/html"}))
    page.goto(other.url + "/piece")
    out = page.evaluate(
        """async (site) => {
            window.Tapes = await import(site + '/static/tapes/tapes.js');
            const canvas = document.querySelector('canvas');
            const ctx = canvas.getContext('2d');
            // A pool of encoders, started from blob: inside the blob:-started packing worker.
            const take = Tapes.record(canvas, {mode: 'frames', piece: 'elsewhere', encoders: 2});
            ctx.fillStyle = '#123456'; ctx.fillRect(0, 0, 20, 10);
            await take.frame(40);
            ctx.fillStyle = '#abcdef'; ctx.fillRect(0, 0, 20, 10);
            await take.frame(60);
            window.result = await take.stop();
            return {site: take.site, frames: result.frames, origin: location.origin};
        }""",
        whitenoise_server,
    )
    assert out["origin"] == other.url != whitenoise_server
    assert out["site"] == whitenoise_server  # the default site: where the library came from
    saved = save_zip(page, "result", tmp_path / "cross.zip")
    assert inspect_archive(saved).frames == 2
    colours = [f.getpixel((3, 3)) for f in frames_of(saved)]
    assert colours == [(0x12, 0x34, 0x56), (0xAB, 0xCD, 0xEF)]


def test_download_and_max_fps(page: Any, live_server: Any, tmp_path: Path) -> None:
    open_library(page, live_server)
    out = page.evaluate(
        """async () => {
            const canvas = Object.assign(document.createElement('canvas'), {width: 16, height: 16});
            const ctx = canvas.getContext('2d');
            window.take = Tapes.record(canvas, {piece: 'half', maxFps: 30});
            let n = 0;
            await new Promise((resolve) => {
                const loop = () => {
                    ctx.fillStyle = `rgb(${n * 4 % 256}, 0, 0)`;
                    ctx.fillRect(0, 0, 16, 16);
                    n += 1;
                    if (n < 60) requestAnimationFrame(loop); else resolve();
                };
                requestAnimationFrame(loop);
            });
            const result = await take.stop();
            return {frames: result.frames, drawn: n, filename: take.filename};
        }"""
    )
    # At most 30 a second from 60 animation frames a second: about every other one.
    assert 20 <= out["frames"] <= 35, out
    assert re.fullmatch(r"half-\d{4}\.\d\d\.\d\d\.\d\d\.\d\d\.\d\d\.\d{3}\.zip", out["filename"])
    with page.expect_download() as download:
        assert page.evaluate("() => take.download()") == out["filename"]
    assert download.value.suggested_filename == out["filename"]
    saved = tmp_path / "downloaded.zip"
    download.value.save_as(saved)
    assert inspect_archive(saved).frames == out["frames"]
    with page.expect_download() as named:
        page.evaluate("() => take.download('mine.zip')")
    assert named.value.suggested_filename == "mine.zip"


def test_a_token_is_sent_as_a_bearer(page: Any, live_server: Any) -> None:
    # This site takes no bearer tokens (no Auth0 in the test settings): the refusal shows the
    # token went as Authorization: Bearer, and comes back as the API's code at the first step.
    open_library(page, live_server)
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers.get("authorization", "")) if r.method == "POST" else None,
    )
    out = page.evaluate(
        """async () => {
            const canvas = Object.assign(document.createElement('canvas'), {width: 4, height: 4});
            const take = Tapes.record(canvas, {mode: 'frames'});
            canvas.getContext('2d').fillRect(0, 0, 2, 2);
            await take.frame(50);
            await take.stop();
            try { await take.post({token: 'not-a-jwt'}); return 'posted'; }
            catch (e) { return {code: e.code, step: e.step, status: e.status, state: take.state}; }
        }"""
    )
    assert sent == ["Bearer not-a-jwt"]
    assert out["step"] == "start"
    assert out["status"] == 401
    assert out["code"] in {"bearer_not_supported", "token_malformed"}
    assert out["state"] == "failed"
    assert Tape.objects.count() == 0
