"""The recorder library on WebGL and offscreen canvases in headless Chromium: frames read from the
drawing buffer at the right moment (never the cleared buffer of preserveDrawingBuffer: false) and
with their exact colours, read back from the packed PNGs by Pillow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tapes.archive import inspect_archive
from tests.recorder.conftest import frames_of, open_library, save_zip
from tests.support.listeners import respond

pytestmark = pytest.mark.django_db(transaction=True)

# The page's own animation loop starts before recording (as a sketch's does), clearing the whole
# buffer to colour n and a scissored corner to a second colour, on every animation frame. The
# buffer is not preserved: a capture at any other moment than right after the page drew reads a
# cleared (transparent black) buffer.
WEBGL_REALTIME = """async ([type, attributes]) => {
    const canvas = document.createElement('canvas');
    canvas.width = 48; canvas.height = 32;
    document.body.append(canvas);
    const gl = canvas.getContext(type, attributes);
    if (!gl) return null;
    const colour = (n) => [(n * 37) % 256, (n * 91 + 40) % 256, (n * 53 + 7) % 256];
    let n = 0;
    let take = null;
    const drawn = [];
    const draw = () => {
        const [r, g, b] = colour(n);
        gl.disable(gl.SCISSOR_TEST);
        gl.clearColor(r / 255, g / 255, b / 255, 1);
        gl.clear(gl.COLOR_BUFFER_BIT);
        gl.enable(gl.SCISSOR_TEST);
        gl.scissor(0, 0, 8, 4);  // GL's origin: the bottom-left corner
        gl.clearColor(1, 200 / 255, 0, 1);
        gl.clear(gl.COLOR_BUFFER_BIT);
        if (take) drawn.push(colour(n));
        n += 1;
        if (n === 5) take = Tapes.record(canvas, {piece: 'gl'});
        if (n < 45) requestAnimationFrame(draw);
    };
    requestAnimationFrame(draw);
    await new Promise((resolve) => {
        const wait = () => (n < 45 ? setTimeout(wait, 20) : resolve());
        wait();
    });
    window.result = await take.stop();
    return {frames: result.frames, drawn};
}"""


@pytest.mark.parametrize("kind", ["webgl", "webgl2"])
def test_webgl_frames_are_read_after_the_page_drew_with_exact_colours(
    page: Any, live_server: Any, tmp_path: Path, kind: str
) -> None:
    open_library(page, live_server)
    out = page.evaluate(
        WEBGL_REALTIME, [kind, {"preserveDrawingBuffer": False, "antialias": False}]
    )
    assert out is not None, f"{kind} is not available in this Chromium"
    drawn = [tuple(c) for c in out["drawn"]]
    assert out["frames"] >= 20, out
    saved = save_zip(page, "result", tmp_path / f"{kind}.zip")
    info = inspect_archive(saved)
    assert info.frames == out["frames"]
    assert (info.width, info.height) == (48, 32)
    frames = frames_of(saved)
    seen = []
    for i, frame in enumerate(frames):
        background = frame.getpixel((30, 10))
        assert background != (0, 0, 0), f"frame {i} is the cleared buffer"
        assert background in drawn, f"frame {i}: {background} was never drawn"
        # The scissored corner: bottom-left in GL is the PNG's bottom-left (rows flipped).
        assert frame.getpixel((0, 31)) == (255, 200, 0), i
        assert frame.getpixel((7, 28)) == (255, 200, 0), i
        assert frame.getpixel((8, 31)) == background, i
        assert frame.getpixel((0, 27)) == background, i
        seen.append(background)
    # Frames follow the drawing in order, one drawn frame each (none twice).
    positions = [drawn.index(c) for c in seen]
    assert positions == sorted(set(positions))


# Frames mode on WebGL: drawn in a timer (not an animation frame), captured by take.frame() at
# once; a half-transparent clear is composited over black as the tape format says.
WEBGL_FRAMES = """async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 16; canvas.height = 16;
    const attributes = {preserveDrawingBuffer: false, premultipliedAlpha: false};
    const gl = canvas.getContext('webgl', attributes);
    const take = Tapes.record(canvas, {mode: 'frames', piece: 'gl-frames'});
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    for (const [r, g, b, a] of [[10, 20, 30, 255], [200, 100, 50, 128], [0, 255, 0, 255]]) {
        await tick();
        gl.clearColor(r / 255, g / 255, b / 255, a / 255);
        gl.clear(gl.COLOR_BUFFER_BIT);
        await take.frame(25);
    }
    window.result = await take.stop();
    return result.frames;
}"""


def test_webgl_frames_mode_captures_at_the_call_and_composites_alpha_over_black(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    open_library(page, live_server)
    assert page.evaluate(WEBGL_FRAMES) == 3
    saved = save_zip(page, "result", tmp_path / "glframes.zip")
    colours = [f.getpixel((4, 4)) for f in frames_of(saved)]
    half = tuple((c * 128 + 127) // 255 for c in (200, 100, 50))
    assert colours == [(10, 20, 30), half, (0, 255, 0)]


OFFSCREEN = """async () => {
    const canvas = new OffscreenCanvas(30, 20);
    const ctx = canvas.getContext('2d');
    const take = Tapes.record(canvas, {mode: 'frames', piece: 'offscreen'});
    for (const colour of ['#ff0000', '#00ff00', '#0000ff']) {
        ctx.fillStyle = colour;
        ctx.fillRect(0, 0, 30, 20);
        await take.frame(100);
    }
    window.result = await take.stop();
    return {frames: result.frames, width: result.metadata.resolution.width};
}"""


def test_records_an_offscreen_canvas(page: Any, live_server: Any, tmp_path: Path) -> None:
    open_library(page, live_server)
    assert page.evaluate(OFFSCREEN) == {"frames": 3, "width": 30}
    saved = save_zip(page, "result", tmp_path / "offscreen.zip")
    assert inspect_archive(saved).frames == 3
    colours = [f.getpixel((10, 10)) for f in frames_of(saved)]
    assert colours == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


# A sketch on another site that draws WebGL on an OffscreenCanvas in its own worker (started from
# a blob: URL), recording there in realtime (the worker's own animation frames); the ZIP comes
# back to the page.
IN_WORKER = """async (site) => {
    const source = `
        import * as Tapes from '${site}/static/tapes/tapes.js';
        onmessage = async (event) => {
            const canvas = event.data.canvas;
            const gl = canvas.getContext('webgl2', {preserveDrawingBuffer: false});
            const take = Tapes.record(canvas, {piece: 'worker'});
            let n = 0;
            const draw = () => {
                gl.clearColor(0, (n % 2) ? 1 : 0.5, 1, 1);
                gl.clear(gl.COLOR_BUFFER_BIT);
                n += 1;
                if (n < 30) requestAnimationFrame(draw);
                else take.stop().then((r) => postMessage({zip: r.zip, frames: r.frames}),
                                      (e) => postMessage({error: e.code + ': ' + e.message}));
            };
            requestAnimationFrame(draw);
        };`;
    const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
    const worker = new Worker(url, {type: 'module'});
    const canvas = document.createElement('canvas');
    canvas.width = 24; canvas.height = 24;
    document.body.append(canvas);
    const offscreen = canvas.transferControlToOffscreen();
    const answer = await new Promise((resolve) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => resolve({error: event.message});
        worker.postMessage({canvas: offscreen}, [offscreen]);
    });
    if (answer.error || !answer.zip) return {error: JSON.stringify(answer)};
    window.result = answer;
    return {frames: answer.frames};
}"""


def test_records_an_offscreen_canvas_in_a_worker(
    page: Any, whitenoise_server: str, listener: Any, tmp_path: Path
) -> None:
    # Tapesite's own pages allow no blob: workers (CSP); a sketch's site is another origin.
    html = b"<!doctype html><title>sketch</title>"
    other = listener(respond(body=html, headers={"Content-Type": "text/html"}))
    page.goto(other.url + "/sketch")
    out = page.evaluate(IN_WORKER, whitenoise_server)
    assert "error" not in out, out
    assert out["frames"] >= 10
    saved = save_zip(page, "result", tmp_path / "worker.zip")
    assert inspect_archive(saved).frames == out["frames"]
    colours = {f.getpixel((5, 5)) for f in frames_of(saved)}
    assert colours <= {(0, 255, 255), (0, 128, 255)}, colours
    assert (0, 0, 0) not in colours
