// The recorder page's words for posting (the posting itself is the recorder library's,
// static/tapes/post.js): why a post failed, from the page's table of codes (web/words.py).

import { formatLimit } from "./site.js";

/** The reason in plain words, from the page's table of codes. */
export function describe(error, words) {
  if (error.code === "throttled" && error.details && error.details.retry_after) {
    const seconds = Math.ceil(Number(error.details.retry_after));
    return `Too many posts in a short time. Wait ${seconds} s, then retry.`;
  }
  if (error.code === "quota_exceeded") return describeQuota(error, words);
  const said = words[error.code] || error.message || words.server_error;
  if (error.code === "upload_too_large" && error.details && error.details.max_bytes) {
    return `${said} (The limit is ${formatLimit(error.details.max_bytes)}.)`;
  }
  return said;
}

// A daily posting quota (docs/api.md): what was reached, and when posting opens again, in the
// visitor's own clock.
function describeQuota(error, words) {
  const details = error.details || {};
  const parts = [words.quota_exceeded || error.message];
  const resets = details.resets_at ? new Date(details.resets_at) : null;
  if (resets && !Number.isNaN(resets.getTime())) {
    const when = resets.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    parts.push(`You can post again after ${when}.`);
  }
  if (details.poster === "guest") parts.push("Signing in gives you an allowance of your own.");
  return parts.join(" ");
}
