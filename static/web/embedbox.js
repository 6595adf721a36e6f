// The tape page's "Embed" box: copies the iframe code (site.js's copyText), or selects it for
// Ctrl+C where the clipboard is out of reach.
import { copyText } from "./site.js";

const code = document.getElementById("embed-code");
const done = document.getElementById("copy-embed-done");

document.getElementById("copy-embed").addEventListener("click", async () => {
  if (await copyText(code.value)) {
    done.textContent = "Copied!";
  } else {
    code.select();
    done.textContent = "Press Ctrl+C to copy.";
  }
});
