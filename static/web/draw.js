// The drawing piece: crisp pixel brushes on a small canvas, with mouse, pen and touch (pointer
// events), undo and clear. The canvas is opaque (alpha: false), as the tape format expects.

export const PAPER = "#fff1e8";
const UNDO_DEPTH = 40;

export class Paper {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false, willReadFrequently: true });
    this.ctx.imageSmoothingEnabled = false;
    this.colour = "#ff004d";
    this.size = 2;
    this.hue = 0;
    this.undoStack = [];
    this.strokes = new Map(); // pointerId -> last point
    this.onchange = () => {};
    this.fill(PAPER);
    this.listen();
  }

  fill(colour) {
    this.ctx.fillStyle = colour;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  snapshot() {
    this.undoStack.push(this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height));
    if (this.undoStack.length > UNDO_DEPTH) this.undoStack.shift();
    this.onchange();
  }

  undo() {
    const last = this.undoStack.pop();
    if (last) this.ctx.putImageData(last, 0, 0);
    this.onchange();
  }

  clear() {
    this.snapshot();
    this.fill(PAPER);
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  // Canvas pixel under a pointer event. The canvas is shown at whatever CSS size fits the screen
  // (it has no border or padding of its own): the drawing keeps the canvas' own resolution.
  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * this.canvas.width,
      y: ((event.clientY - box.top) / box.height) * this.canvas.height,
      pressure: event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5,
    };
  }

  stamp(x, y, pressure) {
    // A pen's pressure swells or thins the brush around the chosen size.
    const size = Math.max(1, Math.round(this.size * (0.5 + pressure)));
    const left = Math.round(x - size / 2);
    const top = Math.round(y - size / 2);
    if (this.colour === "rainbow") {
      this.hue = (this.hue + 2) % 360;
      this.ctx.fillStyle = `hsl(${this.hue} 100% 55%)`;
    } else {
      this.ctx.fillStyle = this.colour;
    }
    this.ctx.fillRect(left, top, size, size);
  }

  line(from, to) {
    const steps = Math.max(1, Math.ceil(Math.hypot(to.x - from.x, to.y - from.y)));
    for (let i = 1; i <= steps; i += 1) {
      const t = i / steps;
      this.stamp(
        from.x + (to.x - from.x) * t,
        from.y + (to.y - from.y) * t,
        from.pressure + (to.pressure - from.pressure) * t,
      );
    }
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 && event.pointerType === "mouse") return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      if (this.strokes.size === 0) this.snapshot();
      const at = this.point(event);
      this.strokes.set(event.pointerId, at);
      this.stamp(at.x, at.y, at.pressure);
    });
    canvas.addEventListener("pointermove", (event) => {
      const last = this.strokes.get(event.pointerId);
      if (!last) return;
      // Coalesced events keep fast strokes smooth when the browser batches moves per frame.
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      let from = last;
      for (const each of events.length ? events : [event]) {
        const to = this.point(each);
        this.line(from, to);
        from = to;
      }
      this.strokes.set(event.pointerId, from);
    });
    const end = (event) => this.strokes.delete(event.pointerId);
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);
  }
}
