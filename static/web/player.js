// A tape's player: one set of controls for either an MP4 in a <video> or the recording's own
// frames on a <canvas> (FramePlayer), so the tape page and, later, the embed page share it.
//
//   const controls = attachControls(container, videoSource(video, frameMs), { art });
//   controls.setSource(framesSource(player));   // swap what plays, keeping speed and loop
//
// container is the player's box (it holds the screen element and goes full screen); the
// controls are built into its [data-player-controls] element (made if missing). Times are in ms.
// Frame steps land in the middle of a frame's interval, so the browser shows exactly that frame.
// The picture is scaled by a whole number of device pixels per pixel of the drawing (art), never
// a blurry fraction, to the largest that fits.
// (FramePlayer itself is in frameplayer.js: the pages load it only when they play frames.)
import { formatTime, frameIndexAt, frameStarts, pixelFit } from "./player-sources.js";

export {
  formatTime,
  frameIndexAt,
  frameStarts,
  framesSource,
  pixelFit,
  roundedDurations,
  videoSource,
} from "./player-sources.js";

export const SPEEDS = [0.25, 0.5, 1, 2];

// --- the controls -------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  play: "M8 5.5v13l10.5-6.5z",
  pause: "M6.5 5h4v14h-4zM13.5 5h4v14h-4z",
  back: "M5 6h2.5v12H5zM19 6v12L9 12z",
  forward: "M16.5 6H19v12h-2.5zM5 6l10 6-10 6z",
  loop: "M7 7h10v3l4-4-4-4v3H5v6h2zm10 10H7v-3l-4 4 4 4v-3h12v-6h-2z",
  enter: "M5 5h5v2H7v3H5zm9 0h5v5h-2V7h-3zM5 14h2v3h3v2H5zm12 0h2v5h-5v-2h3z",
  exit: "M8 5h2v5H5V8h3zm6 0h2v3h3v2h-5zM5 14h5v5H8v-3H5zm9 0h5v2h-3v3h-2z",
};

function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

function iconButton(control, iconName, label) {
  const text = element("span", { class: "visually-hidden", text: label });
  return element(
    "button",
    { type: "button", class: "player-button", "data-control": control, title: label },
    [icon(iconName), text],
  );
}

function setButton(button, iconName, label) {
  button.replaceChildren(
    icon(iconName),
    element("span", { class: "visually-hidden", text: label }),
  );
  button.title = label;
}

function buildBar(bar) {
  const seek = element("input", {
    type: "range",
    class: "player-seek",
    min: "0",
    max: "0",
    step: "1",
    value: "0",
    "data-control": "seek",
    "aria-label": "Position",
  });
  const speed = element(
    "select",
    { class: "player-speed", "data-control": "speed", "aria-label": "Speed", title: "Speed" },
    SPEEDS.map((rate) =>
      element("option", { value: String(rate), text: `${rate}×`, selected: rate === 1 }),
    ),
  );
  const time = element("p", { class: "player-time" }, [
    element("span", { "data-control": "elapsed", text: "0:00.0" }),
    element("span", { class: "player-of", "aria-hidden": "true", text: "/" }),
    element("span", { class: "visually-hidden", text: " of " }),
    element("span", { "data-control": "total", text: "0:00.0" }),
    element("span", { class: "player-frame", "data-control": "frame" }),
  ]);
  const buttons = element("div", { class: "player-group" }, [
    iconButton("play", "play", "Play"),
    iconButton("back", "back", "Previous frame"),
    iconButton("forward", "forward", "Next frame"),
  ]);
  const settings = element("div", { class: "player-group player-settings" }, [
    speed,
    iconButton("loop", "loop", "Loop"),
    iconButton("fullscreen", "enter", "Full screen"),
  ]);
  bar.replaceChildren(
    element("div", { class: "player-scrub" }, [seek]),
    element("div", { class: "player-row" }, [buttons, time, settings]),
  );
  const get = (name) => bar.querySelector(`[data-control=${name}]`);
  return {
    seek,
    speed,
    play: get("play"),
    back: get("back"),
    forward: get("forward"),
    loop: get("loop"),
    fullscreen: get("fullscreen"),
    elapsed: get("elapsed"),
    total: get("total"),
    frame: get("frame"),
  };
}

const fullscreenElement = () =>
  document.fullscreenElement || document.webkitFullscreenElement || null;
const fullscreenEnabled = () =>
  Boolean(document.fullscreenEnabled || document.webkitFullscreenEnabled);

/** Attach the controls to container for source (or null: nothing to play yet, the bar is hidden).
 * options.art: {width, height}, the drawing's own pixel size (else the picture's);
 * options.label: what the player is, for screen readers;
 * options.bar: false keeps the bar hidden (the embed page has its own small one);
 * options.fitHeight: () => the height the picture may take (default: most of the window's).
 * Returns {setSource, source, pausedByUser, togglePlay, fit, destroy}. */
export function attachControls(container, source, options = {}) {
  const bar =
    container.querySelector("[data-player-controls]") ||
    container.appendChild(element("div", { "data-player-controls": "" }));
  bar.classList.add("player-bar");
  const ui = buildBar(bar);
  container.classList.add("player");
  if (!container.hasAttribute("tabindex")) container.tabIndex = 0;
  if (options.label) {
    container.setAttribute("role", "group");
    container.setAttribute("aria-label", options.label);
  }
  const prefs = { rate: 1, loop: true };
  let current = null;
  let unsubscribe = () => {};
  let starts = [];
  let durations = [];
  let raf = 0;
  let scrubbing = false;
  let pausedByUser = false;
  let fitted = "";

  ui.fullscreen.hidden = !fullscreenEnabled();

  function timing() {
    const now = current.durations;
    if (now !== durations) {
      durations = now;
      starts = frameStarts(durations);
    }
  }

  function frameNow() {
    timing();
    return durations.length ? frameIndexAt(starts, current.time) : 0;
  }

  function render() {
    if (!current) return;
    const duration = current.duration || 0;
    const time = Math.min(current.time, duration);
    ui.seek.max = String(Math.round(duration));
    if (!scrubbing) ui.seek.value = String(Math.round(time));
    ui.seek.setAttribute("aria-valuetext", `${formatTime(time)} of ${formatTime(duration)}`);
    ui.elapsed.textContent = formatTime(time);
    ui.total.textContent = formatTime(duration);
    const index = frameNow();
    ui.frame.textContent = durations.length ? `Frame ${index + 1}/${durations.length}` : "";
    container.dataset.frame = String(index);
    const paused = current.paused;
    if (container.dataset.paused !== String(paused)) {
      container.dataset.paused = String(paused);
      setButton(ui.play, paused ? "play" : "pause", paused ? "Play" : "Pause");
    }
    ui.loop.setAttribute("aria-pressed", String(current.loop));
    const rate = String(current.rate);
    if (ui.speed.value !== rate && SPEEDS.includes(current.rate)) ui.speed.value = rate;
  }

  function loop() {
    render();
    raf = current && !current.paused ? requestAnimationFrame(loop) : 0;
  }

  function changed() {
    render();
    if (current && !current.paused && !raf) raf = requestAnimationFrame(loop);
    fit();
  }

  function fit() {
    if (!current) return;
    const media = current.element;
    const screen = media.parentElement;
    const natural = current.size;
    const art = options.art && options.art.width && options.art.height ? options.art : natural;
    if (!art || !art.width || !art.height || !screen) return;
    const style = getComputedStyle(screen);
    const across = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const down = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const width = screen.clientWidth - across;
    const full = fullscreenElement() === container;
    let height = Math.max(180, window.innerHeight * 0.72);
    if (full) height = container.clientHeight - bar.offsetHeight - down;
    else if (options.fitHeight) height = options.fitHeight() - down;
    const size = pixelFit(art, width, height);
    const key = `${size.width}x${size.height}`;
    if (key === fitted && media.dataset.fitted === key) return;
    fitted = key;
    media.style.width = `${size.width}px`;
    media.style.height = `${size.height}px`;
    media.dataset.fitted = key;
    container.dataset.scale = String(size.scale);
  }

  function togglePlay() {
    if (!current) return;
    if (current.paused) {
      pausedByUser = false;
      current.play();
    } else {
      pausedByUser = true;
      current.pause();
    }
    changed();
  }

  function showFrame(index) {
    timing();
    if (!durations.length) return;
    const count = durations.length;
    let target = index;
    if (target < 0) target = current.loop ? count - 1 : 0;
    if (target >= count) target = current.loop ? 0 : count - 1;
    current.seek(starts[target] + durations[target] / 2);
    render();
  }

  function step(delta) {
    if (!current) return;
    if (!current.paused) {
      pausedByUser = true;
      current.pause();
    }
    showFrame(frameNow() + delta);
  }

  function toggleFullscreen() {
    if (fullscreenElement() === container) {
      (document.exitFullscreen || document.webkitExitFullscreen).call(document);
    } else {
      const request = container.requestFullscreen || container.webkitRequestFullscreen;
      const asked = request.call(container);
      if (asked && asked.catch) asked.catch(() => {});
    }
  }

  function onFullscreen() {
    const full = fullscreenElement() === container;
    container.classList.toggle("player-full", full);
    setButton(ui.fullscreen, full ? "exit" : "enter", full ? "Exit full screen" : "Full screen");
    fitted = "";
    fit();
  }

  ui.play.addEventListener("click", togglePlay);
  ui.back.addEventListener("click", () => step(-1));
  ui.forward.addEventListener("click", () => step(1));
  ui.loop.addEventListener("click", () => {
    prefs.loop = !prefs.loop;
    if (current) current.setLoop(prefs.loop);
    render();
  });
  ui.speed.addEventListener("change", () => {
    prefs.rate = Number(ui.speed.value);
    if (current) current.setRate(prefs.rate);
  });
  ui.fullscreen.addEventListener("click", toggleFullscreen);
  ui.seek.addEventListener("pointerdown", () => {
    scrubbing = true;
  });
  const endScrub = () => {
    scrubbing = false;
    render();
  };
  ui.seek.addEventListener("pointerup", endScrub);
  ui.seek.addEventListener("pointercancel", endScrub);
  ui.seek.addEventListener("change", endScrub);
  ui.seek.addEventListener("input", () => {
    if (!current) return;
    timing();
    // Whatever frame the bar points into, shown exactly (the middle of its interval).
    if (durations.length) showFrame(frameIndexAt(starts, Number(ui.seek.value)));
    else current.seek(Number(ui.seek.value));
  });

  container.addEventListener("keydown", (event) => {
    if (!current || event.altKey || event.ctrlKey || event.metaKey) return;
    const tag = event.target.tagName;
    if (tag === "SELECT") return; // its own arrows choose a speed
    const onButton = tag === "BUTTON";
    const keys = {
      " ": () => !onButton && togglePlay(),
      k: togglePlay,
      ArrowLeft: () => step(-1),
      ",": () => step(-1),
      ArrowRight: () => step(1),
      ".": () => step(1),
      Home: () => showFrame(0),
      End: () => showFrame(Number.MAX_SAFE_INTEGER),
      f: () => fullscreenEnabled() && toggleFullscreen(),
    };
    const action = keys[event.key];
    if (!action || (event.key === " " && onButton)) return;
    event.preventDefault();
    action();
  });
  // A click or tap on the picture plays or pauses, and puts the keys on the player.
  container.addEventListener("click", (event) => {
    if (current && event.target === current.element) {
      container.focus({ preventScroll: true });
      togglePlay();
    }
  });
  document.addEventListener("fullscreenchange", onFullscreen);
  document.addEventListener("webkitfullscreenchange", onFullscreen);
  const resized = new ResizeObserver(() => fit());
  resized.observe(container);
  window.addEventListener("resize", fit);

  function setSource(next) {
    unsubscribe();
    unsubscribe = () => {};
    cancelAnimationFrame(raf);
    raf = 0;
    current = next;
    durations = [];
    fitted = "";
    bar.hidden = !current || options.bar === false;
    container.dataset.source = current ? current.kind : "";
    if (!current) return;
    current.setRate(prefs.rate);
    current.setLoop(prefs.loop);
    unsubscribe = current.subscribe(changed);
    delete container.dataset.paused;
    changed();
  }

  setSource(source);
  return {
    setSource,
    get source() {
      return current;
    },
    /** Whether the person paused it (then a new source should not start by itself). */
    get pausedByUser() {
      return pausedByUser;
    },
    togglePlay,
    fit,
    destroy() {
      setSource(null);
      resized.disconnect();
      window.removeEventListener("resize", fit);
      document.removeEventListener("fullscreenchange", onFullscreen);
      document.removeEventListener("webkitfullscreenchange", onFullscreen);
    },
  };
}
