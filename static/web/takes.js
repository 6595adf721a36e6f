// The recorder's unposted take, kept in the browser (IndexedDB) from the moment it is packed until
// it is posted or discarded, so a reload, a closed tab or a slip of the finger never loses it.
//
// One slot: the latest take. What is kept is the tape ZIP itself (the very bytes that get posted;
// the preview is read back out of it) and what the page says about it:
//   {id, zip: Blob, metadata, name, savedAt: ms since the epoch}
// Every call rejects when the browser keeps nothing (private mode, storage full or disabled);
// the page then carries on with the take in memory only.
import { TIMING_NAME, unzipTape } from "./tapezip.js";

const DB_NAME = "tapesite-takes";
const STORE = "takes";
const SLOT = "unposted";
// The take was packed by this page, so reading it back needs no bounds against a crafted ZIP.
const OWN = Infinity;
const OWN_LIMITS = {
  maxArchiveBytes: OWN,
  maxEntries: OWN,
  maxEntryBytes: OWN,
  maxTotalBytes: OWN,
  maxJsonBytes: OWN,
  maxEntryRatio: OWN,
  ratioCheckMinBytes: OWN,
};

function openDb() {
  return new Promise((resolve, reject) => {
    if (!window.indexedDB) {
      reject(new Error("this browser keeps no data"));
      return;
    }
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("the take store is busy in another tab"));
  });
}

// Runs `work(store)` in one transaction; resolves to the result of the request it returns (if
// any) once the transaction has committed, so "kept" means written.
async function inStore(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("the take store refused the write"));
    });
  } finally {
    db.close();
  }
}

/** Keep `take` ({id, zip, metadata, name, savedAt}) in place of any earlier one. */
export function keepTake(take) {
  return inStore("readwrite", (store) => store.put(take, SLOT));
}

/** The kept take, or undefined. */
export function keptTake() {
  return inStore("readonly", (store) => store.get(SLOT));
}

/** Forget the kept take if it is still the one with `id` (another tab may have kept a newer one). */
export function forgetTake(id) {
  return inStore("readwrite", (store) => {
    const request = store.get(SLOT);
    request.onsuccess = () => {
      if (request.result && request.result.id === id) store.delete(SLOT);
    };
    return null;
  });
}

/** The preview of a kept take, read back from its ZIP: {frames: [Blob], durations: [ms]}. */
export async function framesOf(zip) {
  const files = await unzipTape(new Uint8Array(await zip.arrayBuffer()), OWN_LIMITS);
  const timing = JSON.parse(new TextDecoder().decode(files[TIMING_NAME]));
  return {
    frames: timing.map((entry) => new Blob([files[entry.filename]], { type: "image/png" })),
    durations: timing.map((entry) => entry.duration),
  };
}

/** "2 minutes ago": how long ago `then` (ms since the epoch) was, in words. */
export function agoInWords(then, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 45) return "a moment ago";
  const words = new Intl.RelativeTimeFormat("en", { numeric: "always" });
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return words.format(-minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 24) return words.format(-hours, "hour");
  return words.format(-Math.round(hours / 24), "day");
}
