// The system share sheet (Web Share API), for phones mostly: an ES module, no build step.
//
//   attachShare(button, {title, url, text})
//       Shows `button` (render it with the `hidden` attribute) when the browser has
//       navigator.share, and leaves it hidden otherwise (a "Copy link" button stays the way
//       for everyone). A click opens the share sheet with {title, url} (and `text` if given).
//       Each value is a string or a function returning one, read at click time, so a page can
//       attach before it knows the URL (the recorder shares the tape it has just posted). A
//       relative url is made absolute. Returns true when sharing is available.
//       The button gets data-shared="done" after a share, "cancelled" when the person closed
//       the sheet, "failed" otherwise (nothing else is said: the sheet speaks for itself).
//   canShare()  true when navigator.share exists.

export function canShare() {
  return typeof navigator !== "undefined" && typeof navigator.share === "function";
}

const read = (value) => (typeof value === "function" ? value() : value);

export function attachShare(button, { title, url, text } = {}) {
  if (!button) return false;
  if (!canShare()) {
    button.hidden = true;
    return false;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    const data = { title: read(title) || document.title };
    const link = read(url);
    data.url = new URL(link || window.location.href, window.location.href).href;
    const words = read(text);
    if (words) data.text = words;
    try {
      await navigator.share(data);
      button.dataset.shared = "done";
    } catch (error) {
      button.dataset.shared = error && error.name === "AbortError" ? "cancelled" : "failed";
    }
  });
  return true;
}
