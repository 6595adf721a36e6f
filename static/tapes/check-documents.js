// timing.json and metadata.json for the browser's tape checker (static/tapes/check.js), read
// as tapes/archive/documents.py reads them: the same types refused, the same shapes recognised.
import { clip, fail, read, repr } from "./check-common.js";

const LEGACY_KEYS = ["originalSize", "scaledSize", "frameCount", "totalDuration", "exportedAt"];

// Python's json module also reads NaN, Infinity and -Infinity; JSON.parse does not. They are
// swapped for marked strings outside of strings, and the reviver turns them back into numbers,
// so a NaN duration is refused as a bad duration, as on the server, not as bad JSON.
function parsePythonJson(text) {
  const mark = `\u0000nonfinite-${Math.random().toString(36).slice(2)}:`;
  let out = "";
  let last = 0;
  let swapped = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"') {
      for (i += 1; i < text.length && text[i] !== '"'; i += 1) if (text[i] === "\\") i += 1;
      continue;
    }
    for (const word of ["-Infinity", "Infinity", "NaN"]) {
      if (text.startsWith(word, i)) {
        out += `${text.slice(last, i)}"\\u0000${mark.slice(1)}${word}"`;
        i += word.length - 1;
        last = i + 1;
        swapped = true;
        break;
      }
    }
  }
  if (!swapped) return JSON.parse(text);
  const numbers = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
  return JSON.parse(out + text.slice(last), (key, value) =>
    typeof value === "string" && value.startsWith(mark) ? numbers[value.slice(mark.length)] : value,
  );
}

export function readJson(bytes, entry, kind, limits) {
  const name = `${kind}.json`;
  if (!entry) throw fail(`validation_${kind}_missing`, `The archive has no ${name}.`);
  const malformed = `validation_${kind}_malformed`;
  if (entry.size > limits.max_json_bytes) {
    throw fail(malformed, `${name} is ${entry.size} bytes (limit ${limits.max_json_bytes}).`, { limit: limits.max_json_bytes });
  }
  const raw = read(bytes, entry);
  try {
    // "utf-8-sig": a leading byte-order mark is dropped (TextDecoder's default).
    return parsePythonJson(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (error) {
    throw fail(malformed, `${name} is not valid JSON: ${error.message}`, { error: String(error.message) });
  }
}

const isNumber = (value) => typeof value === "number";
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
const get = (object, key) => (has(object, key) ? object[key] : undefined);
export function parseTiming(doc) {
  const bad = (message, index) => fail("validation_timing_malformed", message, { index });
  if (!Array.isArray(doc)) throw bad("timing.json must be a JSON list of {filename, duration} objects.");
  return doc.map((item, index) => {
    if (!isObject(item)) throw bad(`timing.json entry ${index} is not an object.`, index);
    const name = get(item, "filename");
    if (typeof name !== "string") throw bad(`timing.json entry ${index} has no filename string.`, index);
    if (!has(item, "duration")) throw bad(`timing.json entry ${index} has no duration.`, index);
    const stamp = get(item, "timestamp");
    if (stamp !== undefined && stamp !== null && !(isNumber(stamp) && Number.isFinite(stamp))) {
      throw bad(`timing.json entry ${index} has a non-numeric timestamp.`, index);
    }
    return [name, item.duration];
  });
}

export function matchTiming(rows, names) {
  if (rows.length !== names.length) {
    throw fail("validation_timing_mismatch", `timing.json lists ${rows.length} frames but the archive has ${names.length}.`, {
      timing_entries: rows.length,
      frame_files: names.length,
    });
  }
  rows.forEach(([listed], index) => {
    if (listed !== names[index]) {
      throw fail("validation_timing_mismatch", `timing.json entry ${index} names ${repr(listed)}, expected ${repr(names[index])}.`, {
        index,
        timing: listed,
        frame: names[index],
      });
    }
  });
}

/** The correctly rounded sum of finite numbers (Python's math.fsum, Shewchuk's algorithm), so a
 * total right at the limit is judged as the server judges it. */
export function fsum(values) {
  const partials = [];
  for (let x of values) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (!n) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

export function checkDurations(rows, limits) {
  const durations = rows.map(([name, value], index) => {
    const valid = isNumber(value) && Number.isFinite(value);
    if (!valid || !(limits.min_frame_duration_ms <= value && value <= limits.max_frame_duration_ms)) {
      throw fail(
        "validation_duration_invalid",
        `${name} has duration ${clip(String(JSON.stringify(value) ?? value), 40)}; durations must be numbers of ms in [${limits.min_frame_duration_ms}, ${limits.max_frame_duration_ms}].`,
        { index, entry: name, duration: valid ? value : String(value) },
      );
    }
    return value;
  });
  const total = fsum(durations);
  if (total > limits.max_duration_ms) {
    throw fail("validation_too_long", `The tape lasts ${(total / 1000).toFixed(1)} s (limit ${(limits.max_duration_ms / 1000).toFixed(1)} s).`, {
      duration_ms: total,
      limit: limits.max_duration_ms,
    });
  }
  return durations;
}

// Typed getters over a metadata object; a present value of the wrong type is malformed.
class Meta {
  constructor(doc, where = "") {
    this.doc = doc;
    this.where = where;
  }

  bad(key, want) {
    const path = `${this.where}${key}`;
    return fail("validation_metadata_malformed", `metadata.json: ${path} must be ${want}.`, { field: path });
  }

  value(key) {
    const value = get(this.doc, key);
    return value === undefined || value === null ? null : value;
  }

  int(key, minimum = 0) {
    const value = this.value(key);
    if (value === null) return null;
    if (!isNumber(value) || !Number.isFinite(value) || !Number.isInteger(value)) throw this.bad(key, "an integer");
    if (value < minimum) throw this.bad(key, `an integer >= ${minimum}`);
    return value;
  }

  number(key) {
    const value = this.value(key);
    if (value === null) return null;
    if (!isNumber(value) || !Number.isFinite(value) || value < 0) throw this.bad(key, "a non-negative number");
    return value;
  }

  text(key, maxLength = 256) {
    const value = this.value(key);
    if (value === null) return null;
    // Python counts code points, not UTF-16 units.
    if (typeof value !== "string" || [...value].length > maxLength) {
      throw this.bad(key, `a string of at most ${maxLength} characters`);
    }
    return value;
  }

  obj(key) {
    const value = this.value(key);
    if (value === null) return null;
    if (!isObject(value)) throw this.bad(key, "an object");
    return new Meta(value, `${this.where}${key}.`);
  }

  size(key) {
    const sub = this.obj(key);
    return sub === null ? null : pair(sub.int("width", 1), sub.int("height", 1));
  }
}

const pair = (width, height) => (width === null || height === null ? null : [width, height]);

function deriveScale(stored, base) {
  if (!stored || !base) return null;
  if (stored[0] % base[0] || stored[1] % base[1]) return null;
  const scale = Math.floor(stored[0] / base[0]);
  return scale === Math.floor(stored[1] / base[1]) ? scale : null;
}

/** What metadata.json claims, whichever shape it came in (canonical or legacy). */
export function parseMetadata(doc) {
  if (!isObject(doc)) throw fail("validation_metadata_malformed", "metadata.json must be a JSON object.");
  const meta = new Meta(doc);
  if (!has(doc, "resolution") && LEGACY_KEYS.some((key) => has(doc, key))) {
    const stored = meta.size("scaledSize");
    const base = meta.size("originalSize");
    return {
      shape: "legacy",
      piece: meta.text("piece"),
      frames: meta.int("frameCount"),
      durationMs: meta.number("totalDuration"),
      fps: meta.number("fps"),
      scale: meta.int("scale", 1) || deriveScale(stored, base),
      storedSize: stored,
      baseSize: base,
      created: meta.text("exportedAt", 64),
    };
  }
  const resolution = meta.obj("resolution");
  let stored = null;
  let base = null;
  let scale = meta.int("scale", 1);
  if (resolution !== null) {
    stored = pair(resolution.int("width", 1), resolution.int("height", 1));
    base = pair(resolution.int("originalWidth", 1), resolution.int("originalHeight", 1));
    scale = resolution.int("scale", 1) || scale;
  }
  return {
    shape: "canonical",
    piece: meta.text("piece"),
    frames: meta.int("frames"),
    durationMs: meta.number("duration"),
    fps: meta.number("fps"),
    scale: scale || deriveScale(stored, base),
    storedSize: stored,
    baseSize: base,
    created: meta.text("created", 64),
  };
}
