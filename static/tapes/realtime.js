// Realtime mode's clock for the recorder library (tapes.js): one capture per animation frame,
// after the page's own callbacks (docs/recorder.md, "Modes and when a frame is read").

// While any realtime take records, requestAnimationFrame is wrapped so that the library's own
// callback stays the last of each animation frame: it runs after the page has drawn and before
// the frame is presented (when a WebGL buffer without preserveDrawingBuffer is cleared).
const scheduler = {
  takes: new Set(),
  base: null, // {request, cancel, wrapped} while wrapped
  tickId: null,
  tickTs: -1, // the last frame the library's callback ran in
  pageTs: -1, // the last frame a page callback ran in
};

function schedulerTick(ts) {
  scheduler.tickId = null;
  scheduler.tickTs = ts;
  const drewThisFrame = scheduler.pageTs === ts;
  for (const take of [...scheduler.takes]) take._tick(ts, drewThisFrame);
  if (scheduler.takes.size) scheduler.tickId = scheduler.base.request.call(globalThis, schedulerTick);
  else unwrap();
}

function wrap() {
  if (scheduler.base) return;
  const g = globalThis;
  if (typeof g.requestAnimationFrame !== "function") {
    // No animation frames here (an old worker): a timer at 60 Hz stands in.
    const request = (callback) => setTimeout(() => callback(performance.now()), 1000 / 60);
    scheduler.base = { request, cancel: clearTimeout, wrapped: null };
  } else {
    const request = g.requestAnimationFrame;
    const cancel = g.cancelAnimationFrame;
    const wrapped = function requestAnimationFrame(callback) {
      const id = request.call(g, (ts) => {
        scheduler.pageTs = ts;
        callback(ts);
      });
      // A callback requested outside an animation frame runs in the next one: move the
      // library's after it. Inside a frame (before the library's callback of that frame ran),
      // it belongs to the frame after, which the library's callback will request later still.
      const insideFrame = scheduler.pageTs > scheduler.tickTs;
      if (scheduler.tickId !== null && !insideFrame && scheduler.base) {
        scheduler.base.cancel.call(g, scheduler.tickId);
        scheduler.tickId = scheduler.base.request.call(g, schedulerTick);
      }
      return id;
    };
    scheduler.base = { request, cancel, wrapped };
    g.requestAnimationFrame = wrapped;
  }
  scheduler.tickId = scheduler.base.request.call(globalThis, schedulerTick);
}

function unwrap() {
  const base = scheduler.base;
  if (!base) return;
  if (scheduler.tickId !== null) base.cancel.call(globalThis, scheduler.tickId);
  scheduler.tickId = null;
  // Put the page's own function back, unless someone wrapped it again on top of ours (then ours
  // stays in their chain, passing straight through).
  if (base.wrapped && globalThis.requestAnimationFrame === base.wrapped) {
    globalThis.requestAnimationFrame = base.request;
  }
  scheduler.base = null;
}

/** Start calling `take._tick(ts, pageDrew)` once per animation frame. */
export function scheduleTake(take) {
  scheduler.takes.add(take);
  wrap();
}

/** No more ticks for `take`; the page's requestAnimationFrame is put back once none is left. */
export function unscheduleTake(take) {
  scheduler.takes.delete(take);
}
