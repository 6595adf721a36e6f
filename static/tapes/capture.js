// Reading a canvas for the recorder library (tapes.js): what it is, its context, its size, and
// the WebGL drawing buffer's pixels read exactly (docs/recorder.md, "WebGL").
import { TapesError } from "./errors.js";

export function isCanvas(canvas) {
  const html = typeof HTMLCanvasElement !== "undefined" && canvas instanceof HTMLCanvasElement;
  const off = typeof OffscreenCanvas !== "undefined" && canvas instanceof OffscreenCanvas;
  return html || off;
}

// The canvas' existing context. "2d" is asked first: it returns null (and creates nothing) when
// the canvas already has a WebGL context; a canvas with no context yet gets a 2D one.
export function contextOf(canvas) {
  for (const type of ["2d", "webgl2", "webgl"]) {
    let context = null;
    try {
      context = canvas.getContext(type);
    } catch (error) {
      throw new TapesError("canvas_unreadable", undefined, {
        details: { reason: String(error && error.message ? error.message : error) },
      });
    }
    if (context) return context;
  }
  throw new TapesError("canvas_unreadable");
}

export function isWebGL(context) {
  return typeof context.readPixels === "function";
}

function isWebGL2(context) {
  return typeof WebGL2RenderingContext !== "undefined" && context instanceof WebGL2RenderingContext;
}

// The WebGL drawing buffer as it is now (the default framebuffer, whatever the page has bound):
// RGBA rows bottom-up. Read synchronously, so it is the frame the page just drew even when
// preserveDrawingBuffer is false (the buffer is cleared only once it is presented).
export function readDrawingBuffer(gl, width, height) {
  const gl2 = isWebGL2(gl);
  const target = gl2 ? gl.READ_FRAMEBUFFER : gl.FRAMEBUFFER;
  const bound = gl.getParameter(gl2 ? gl.READ_FRAMEBUFFER_BINDING : gl.FRAMEBUFFER_BINDING);
  if (bound) gl.bindFramebuffer(target, null);
  const saved = [];
  let packBuffer = null;
  if (gl2) {
    packBuffer = gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING);
    if (packBuffer) gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
    for (const name of [gl.PACK_ROW_LENGTH, gl.PACK_SKIP_PIXELS, gl.PACK_SKIP_ROWS]) {
      const value = gl.getParameter(name);
      if (value) {
        saved.push([name, value]);
        gl.pixelStorei(name, 0);
      }
    }
  }
  const pixels = new Uint8Array(width * height * 4); // RGBA rows: any PACK_ALIGNMENT fits
  try {
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  } finally {
    for (const [name, value] of saved) gl.pixelStorei(name, value);
    if (packBuffer) gl.bindBuffer(gl.PIXEL_PACK_BUFFER, packBuffer);
    if (bound) gl.bindFramebuffer(target, bound);
  }
  return pixels;
}

export function sizeOf(canvas, context) {
  if (isWebGL(context)) return [context.drawingBufferWidth, context.drawingBufferHeight];
  return [canvas.width, canvas.height];
}

/**
 * Throws a TapesError when a 2D canvas cannot be read back: it shows another site's images
 * without CORS (canvas_tainted), or cannot be drawn at all (canvas_unreadable).
 */
export function checkReadable(canvas, context) {
  if (isWebGL(context)) return;
  // Ask a 1-pixel copy, so the page's own canvas is not read back (Chrome counts that against
  // it: a canvas read back often is moved off the GPU).
  try {
    const probe = new OffscreenCanvas(1, 1).getContext("2d");
    probe.drawImage(canvas, 0, 0, 1, 1, 0, 0, 1, 1);
    probe.getImageData(0, 0, 1, 1);
  } catch (error) {
    if (error && error.name === "SecurityError") throw new TapesError("canvas_tainted");
    throw new TapesError("canvas_unreadable");
  }
}
