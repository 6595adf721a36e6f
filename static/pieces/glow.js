// Glow, the WebGL piece (web/templates/web/glow.html): a field of soft lights drawn by one
// fragment shader on a small square canvas, quantised to a few PICO-8 colours with an ordered
// (Bayer) dither, so every pixel is one of the palette's colours and stays crisp when scaled up.
//
// A handful of wanderers drift on their own (the piece is never still, so a take is never
// blank); the pointer (mouse, pen or finger) pulls them in and sheds sparks where it moves; the
// keyboard does the same with the arrow keys and Space. The canvas keeps WebGL's default
// preserveDrawingBuffer: false, the case a recorder must get right: it is the point of the piece.
//
// The page's state (#glow-page data-state): loading, running, or unsupported (no WebGL).

const MAX_LIGHTS = 24; // the shader's uniform array; wanderers + sparks never exceed it
const WANDERERS = 5;
const SPARK_EVERY_MS = 45;
const SPARK_LIFE_MS = 2600;
const KEY_STEP = 6; // pixels per arrow press

// Dark to light: the shader picks by brightness, so order matters.
export const PALETTES = {
  ember: ["#000000", "#1d2b53", "#7e2553", "#ff004d", "#ffa300", "#ffec27", "#fff1e8"],
  sea: ["#000000", "#1d2b53", "#008751", "#29adff", "#c2c3c7", "#fff1e8"],
  moss: ["#000000", "#5f574f", "#008751", "#00e436", "#ffec27", "#fff1e8"],
  candy: ["#1d2b53", "#7e2553", "#83769c", "#ff77a8", "#ffccaa", "#fff1e8"],
};

const VERTEX = `
attribute vec2 a_position;
void main() { gl_Position = vec4(a_position, 0.0, 1.0); }
`;

// GLSL ES 1.00, so the same source runs on WebGL 1 and 2. Loops have constant bounds (1.00
// requires it) and stop early at the live counts.
const FRAGMENT = `
precision highp float;
uniform vec2 u_size;
uniform float u_time;
uniform vec3 u_lights[${MAX_LIGHTS}];
uniform int u_lightCount;
uniform vec3 u_palette[8];
uniform int u_paletteCount;

float bayer2(vec2 p) { return mod(2.0 * p.x + 3.0 * p.y, 4.0); }
float bayer4(vec2 p) {
  vec2 q = mod(floor(p), 4.0);
  return (4.0 * bayer2(mod(q, 2.0)) + bayer2(floor(q / 2.0))) / 16.0;
}

void main() {
  vec2 p = vec2(gl_FragCoord.x, u_size.y - gl_FragCoord.y);
  vec2 uv = p / u_size;
  float t = u_time;
  // A slow plasma underneath, so the dark never lies flat.
  float v = 0.13
    + 0.07 * sin(uv.x * 7.0 + t * 0.6) * sin(uv.y * 6.0 - t * 0.45)
    + 0.05 * sin(length(uv - 0.5) * 18.0 - t * 1.1);
  for (int i = 0; i < ${MAX_LIGHTS}; i++) {
    if (i >= u_lightCount) break;
    vec3 light = u_lights[i];
    vec2 d = p - light.xy;
    v += light.z / (dot(d, d) + 24.0);
  }
  float steps = float(u_paletteCount) - 1.0;
  float level = floor(clamp(v, 0.0, 1.0) * steps + bayer4(p));
  level = min(level, steps);
  vec3 colour = u_palette[0];
  for (int i = 1; i < 8; i++) {
    if (i >= u_paletteCount) break;
    if (float(i) <= level) colour = u_palette[i];
  }
  gl_FragColor = vec4(colour, 1.0);
}
`;

function rgb(hex) {
  return [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16) / 255);
}

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
    throw new Error(gl.getShaderInfoLog(shader) || "the shader did not compile");
  }
  return shader;
}

export class Glow {
  constructor(canvas, { palette = "ember", reducedMotion = false } = {}) {
    this.canvas = canvas;
    const options = { alpha: false, antialias: false, preserveDrawingBuffer: false };
    this.gl = canvas.getContext("webgl2", options) || canvas.getContext("webgl", options);
    if (!this.gl) throw new Error("no WebGL");
    this.speed = reducedMotion ? 0.35 : 1;
    this.size = canvas.width;
    this.time = 0;
    this.last = 0;
    this.pointer = null; // {x, y, down} in canvas pixels while a pointer is over the canvas
    this.lastSpark = 0;
    this.sparks = [];
    this.wanderers = Array.from({ length: WANDERERS }, (_, i) => this.wanderer(i));
    this.setup();
    this.setPalette(palette);
    this.listen();
  }

  wanderer(i) {
    const s = this.size;
    return {
      x: s * (0.2 + 0.6 * Math.random()),
      y: s * (0.2 + 0.6 * Math.random()),
      vx: 0,
      vy: 0,
      phase: i * 1.7 + Math.random(),
      strength: s * s * (0.004 + 0.0015 * (i % 3)),
    };
  }

  setup() {
    const gl = this.gl;
    const program = gl.createProgram();
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
      throw new Error(gl.getProgramInfoLog(program) || "the shader did not link");
    }
    gl.useProgram(program);
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    const position = gl.getAttribLocation(program, "a_position");
    gl.enableVertexAttribArray(position);
    gl.vertexAttribPointer(position, 2, gl.FLOAT, false, 0, 0);
    this.uniforms = Object.fromEntries(
      ["u_size", "u_time", "u_lights", "u_lightCount", "u_palette", "u_paletteCount"].map(
        (name) => [name, gl.getUniformLocation(program, name)],
      ),
    );
    gl.uniform2f(this.uniforms.u_size, this.canvas.width, this.canvas.height);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
  }

  setPalette(name) {
    const colours = PALETTES[name] || PALETTES.ember;
    this.paletteName = name in PALETTES ? name : "ember";
    const flat = new Float32Array(8 * 3);
    colours.forEach((hex, i) => flat.set(rgb(hex), i * 3));
    this.gl.uniform3fv(this.uniforms.u_palette, flat);
    this.gl.uniform1i(this.uniforms.u_paletteCount, colours.length);
  }

  // --- input ----------------------------------------------------------------------------------

  at(event) {
    const box = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * this.canvas.width,
      y: ((event.clientY - box.top) / box.height) * this.canvas.height,
    };
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.pointer = { ...this.at(event), down: true };
      this.spark(this.pointer, 1.6);
    });
    canvas.addEventListener("pointermove", (event) => {
      const down = event.buttons !== 0 || event.pointerType === "touch";
      this.pointer = { ...this.at(event), down };
    });
    const up = (event) => {
      if (event.pointerType === "mouse" && event.type === "pointerup") {
        this.pointer = { ...this.at(event), down: false };
      } else {
        this.pointer = null;
      }
    };
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointercancel", up);
    canvas.addEventListener("pointerleave", () => {
      this.pointer = null;
    });
    canvas.addEventListener("keydown", (event) => this.key(event));
    canvas.addEventListener("blur", () => {
      if (this.pointer && this.pointer.keyboard) this.pointer = null;
    });
  }

  key(event) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const half = this.size / 2;
    const here = this.pointer && this.pointer.keyboard ? this.pointer : { x: half, y: half };
    if (event.key in moves) {
      const [dx, dy] = moves[event.key];
      const clamp = (v) => Math.max(0, Math.min(this.size, v));
      this.pointer = {
        x: clamp(here.x + dx * KEY_STEP),
        y: clamp(here.y + dy * KEY_STEP),
        down: false,
        keyboard: true,
      };
      event.preventDefault();
    } else if (event.key === " " || event.key === "Enter") {
      this.pointer = { ...here, down: false, keyboard: true };
      this.spark(this.pointer, 2.2);
      event.preventDefault();
    }
  }

  spark(at, scale = 1) {
    const s = this.size;
    this.sparks.push({
      x: at.x,
      y: at.y,
      vx: (Math.random() - 0.5) * 0.02 * s,
      vy: (Math.random() - 0.5) * 0.02 * s,
      born: this.time,
      strength: s * s * 0.0022 * scale,
    });
    const room = MAX_LIGHTS - WANDERERS;
    if (this.sparks.length > room) this.sparks.splice(0, this.sparks.length - room);
  }

  /** Throw the wanderers to new places (the Scatter button). */
  scatter() {
    const s = this.size;
    for (const w of this.wanderers) {
      w.vx += (Math.random() - 0.5) * s * 0.12;
      w.vy += (Math.random() - 0.5) * s * 0.12;
    }
  }

  // --- the frame ------------------------------------------------------------------------------

  step(dtMs) {
    const dt = Math.min(dtMs, 50) / 1000;
    this.time += dt * 1000 * this.speed;
    const t = this.time / 1000;
    const s = this.size;
    const target = this.pointer;
    for (const [i, w] of this.wanderers.entries()) {
      // Each wanderer circles a point of its own; a pointer pulls them all towards it.
      const homeX = s * (0.5 + 0.32 * Math.sin(t * 0.31 + w.phase) * Math.cos(t * 0.17 + i));
      const homeY = s * (0.5 + 0.32 * Math.cos(t * 0.23 + w.phase * 1.3));
      const goal = target || { x: homeX, y: homeY };
      const pull = target ? (target.down ? 3.2 : 1.6) : 0.6;
      w.vx += (goal.x - w.x) * pull * dt;
      w.vy += (goal.y - w.y) * pull * dt;
      w.vx *= 1 - Math.min(1, 1.8 * dt);
      w.vy *= 1 - Math.min(1, 1.8 * dt);
      w.x += w.vx * dt * this.speed;
      w.y += w.vy * dt * this.speed;
    }
    if (target && target.down && this.time - this.lastSpark >= SPARK_EVERY_MS) {
      this.spark(target);
      this.lastSpark = this.time;
    }
    this.sparks = this.sparks.filter((p) => this.time - p.born < SPARK_LIFE_MS);
    for (const p of this.sparks) {
      p.x += p.vx * dt * this.speed;
      p.y += p.vy * dt * this.speed;
    }
  }

  draw() {
    const gl = this.gl;
    const lights = new Float32Array(MAX_LIGHTS * 3);
    let n = 0;
    for (const w of this.wanderers) lights.set([w.x, w.y, w.strength], 3 * n++);
    for (const p of this.sparks) {
      const age = (this.time - p.born) / SPARK_LIFE_MS;
      lights.set([p.x, p.y, p.strength * Math.sin(Math.PI * Math.min(1, age * 1.4 + 0.15))], 3 * n++);
    }
    gl.uniform3fv(this.uniforms.u_lights, lights);
    gl.uniform1i(this.uniforms.u_lightCount, n);
    gl.uniform1f(this.uniforms.u_time, this.time / 1000);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  frame(now) {
    this.step(this.last ? now - this.last : 16);
    this.last = now;
    this.draw();
  }

  start() {
    const loop = (now) => {
      this.frame(now);
      this.raf = requestAnimationFrame(loop);
    };
    this.raf = requestAnimationFrame(loop);
  }
}

// --- the page ---------------------------------------------------------------------------------

const root = document.getElementById("glow-page");
const canvas = document.getElementById("glow");
if (root && canvas) {
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const chosen = document.querySelector("input[name=palette]:checked");
  let glow = null;
  try {
    glow = new Glow(canvas, { palette: chosen ? chosen.value : "ember", reducedMotion });
  } catch {
    root.dataset.state = "unsupported";
  }
  if (glow) {
    for (const input of document.querySelectorAll("input[name=palette]")) {
      input.addEventListener("change", () => {
        glow.setPalette(input.value);
        root.dataset.palette = glow.paletteName;
      });
    }
    document.getElementById("glow-scatter").addEventListener("click", () => glow.scatter());
    root.dataset.palette = glow.paletteName;
    root.dataset.state = "running";
    glow.start();
  }
}
