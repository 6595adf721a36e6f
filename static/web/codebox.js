// The code box in every page's header (and on the 404 page): typing xyz, #xyz or !xyz opens the
// tape without a round trip; /#xyz on the home page does the same. Without scripts the form still
// works through /go.
import { codeFromHash, codeFromInput } from "./codes.js";

function tapeUrl(form, code) {
  return form.dataset.tapeUrl.replace("CODE", encodeURIComponent(code));
}

for (const form of document.querySelectorAll("form.code-box")) {
  const input = form.querySelector("input[name=code]");
  input.addEventListener("input", () => input.setCustomValidity(""));
  form.addEventListener("submit", (event) => {
    const code = codeFromInput(input.value);
    event.preventDefault();
    if (code === null) {
      input.setCustomValidity("A code is letters and digits, like !bop.");
      input.reportValidity();
      return;
    }
    window.location.assign(tapeUrl(form, code));
  });
}

function openHashCode() {
  const form = document.querySelector("form.code-box");
  const code = codeFromHash(window.location.hash);
  if (form && code !== null && window.location.pathname === "/") {
    window.location.replace(tapeUrl(form, code));
  }
}

openHashCode();
window.addEventListener("hashchange", openHashCode);
