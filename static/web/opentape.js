// "Open a tape…" on the recorder: a tape ZIP made elsewhere (the original recorder's 6x export,
// or a 1x one), chosen with the file button or dropped on the recorder, checked in the page with
// the server's rules (static/tapes/check.js), and handed to the recorder as its take: the very
// bytes of the file are what is previewed, posted and downloaded (the server recovers the 1x
// drawing from a 6x tape itself).
//
//   attachOpenTape({ root, input, notice, limits, uploadMaxBytes, words,
//                    ready: () => bool, replace: async () => bool, show: (opened) => void })
//
// `ready()` says whether the page can take a tape now (not while recording or posting);
// `replace()` asks before an unposted take is thrown away (false: keep it); `show(opened)` makes
// the opened tape the take: {zip, name, frames: [Blob], durations, metadata, piece, summary, tape}.
// A refusal is said in `notice` (a plain sentence per code, then the checker's detail) and
// changes nothing else on the page.
import { TapeCheckError, checkArchiveSize, checkTape, readFrames } from "../tapes/check.js";
import { formatSeconds } from "./site.js";

const MB = 1024 * 1024;

/** "3.2 MB" (one decimal from 1 MB up), "37 KB" below. */
export function formatUpload(bytes) {
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

// What the server will make of the tape's piece: the name the upload is filed under.
function pieceOf(tape) {
  const piece = typeof tape.piece === "string" ? tape.piece.trim().slice(0, 200) : "";
  return piece || "tape";
}

function summaryOf(file, tape) {
  const frames = `${tape.frames.length} frame${tape.frames.length === 1 ? "" : "s"}`;
  const stored = tape.scale === 1 ? "stored at 1x" : `stored at ${tape.scale}x (${tape.width}×${tape.height})`;
  // One line each (the summary keeps line breaks): what, how long and how big, what it costs.
  return [
    `Opened ${file.name}`,
    `${formatSeconds(tape.durationMs)} s · ${frames}`,
    `${tape.baseWidth}×${tape.baseHeight} at 1x, ${stored}`,
    `${formatUpload(file.size)} to upload`,
  ].join("\n");
}

/** Check `file` (a File) and read its preview; throws TapeCheckError. */
export async function openTape(file, { limits, uploadMaxBytes }) {
  const most = Math.min(limits.max_archive_bytes, uploadMaxBytes || Infinity);
  // Refused before a byte is read: the size and the limit are all that is needed.
  checkArchiveSize(file.size, { ...limits, max_archive_bytes: most });
  const bytes = new Uint8Array(await file.arrayBuffer());
  const tape = await checkTape(bytes, limits);
  const frames = readFrames(bytes, tape.frames).map((png) => new Blob([png], { type: "image/png" }));
  return {
    zip: file,
    name: file.name,
    frames,
    durations: tape.durations,
    metadata: tape.metadata,
    piece: pieceOf(tape),
    counts: { duration: tape.durationMs, frames: tape.frames.length },
    summary: summaryOf(file, tape),
    tape,
  };
}

/** A refusal in words: {reason} for its code, {detail} of what exactly was wrong. */
export function describeRefusal(error, words) {
  const reason = words[error.code] || words.validation_corrupt;
  if (error.code === "validation_archive_too_large" && error.details && error.details.limit) {
    const { size, limit } = error.details;
    return { reason, detail: `It is ${formatUpload(size)}; the limit is ${formatUpload(limit)}.` };
  }
  return { reason, detail: error.message || "" };
}

export function attachOpenTape({ root, input, notice, limits, uploadMaxBytes, words, ready, replace, show }) {
  let busy = false;

  function say(code, text, detail = "") {
    notice.dataset.code = code;
    notice.textContent = text;
    if (detail) {
      const more = document.createElement("span");
      more.className = "open-detail";
      more.textContent = detail;
      notice.append(more);
    }
  }

  async function open(file) {
    if (busy || !ready()) return;
    busy = true;
    root.dataset.opening = "true";
    say("", `Checking ${file.name}…`);
    try {
      let opened;
      try {
        opened = await openTape(file, { limits, uploadMaxBytes });
      } catch (error) {
        if (!(error instanceof TapeCheckError)) throw error;
        const { reason, detail } = describeRefusal(error, words);
        say(error.code, `${file.name} cannot be opened. ${reason}`, detail);
        return;
      }
      if (!(await replace())) {
        say("", "");
        return;
      }
      say("", "");
      show(opened);
    } catch (error) {
      say("open_failed", `${file.name} could not be read: ${error.message}`);
    } finally {
      busy = false;
      delete root.dataset.opening;
    }
  }

  input.addEventListener("change", () => {
    const [file] = input.files;
    input.value = ""; // the same file chosen again opens again
    if (file) open(file);
  });

  // A new recording makes an old refusal moot: it goes when recording starts.
  new MutationObserver(() => {
    if (root.dataset.state === "recording" && !busy) say("", "");
  }).observe(root, { attributes: true, attributeFilter: ["data-state"] });

  // Dropping a file anywhere on the recorder opens it; while a file is dragged over it the
  // recorder shows where to let go (data-drop).
  let depth = 0;
  const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  root.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    root.dataset.drop = ready() ? "ready" : "busy";
  });
  root.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = ready() ? "copy" : "none";
  });
  root.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) delete root.dataset.drop;
  });
  root.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    delete root.dataset.drop;
    const [file] = event.dataTransfer.files;
    if (file) open(file);
  });

  return { open, say };
}
