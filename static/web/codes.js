// Reading what people type into the code box; the twin of web/codes.py.

const TAPE_PATH = /\/t\/([A-Za-z0-9]{1,16})\/?(?:[?#].*)?$/;
const CODE = /^[A-Za-z0-9]{1,16}$/;

/** "xyz", "#xyz", "!xyz", "/t/xyz" or a whole tape link give "xyz"; anything else null. */
export function codeFromInput(text) {
  let value = String(text).trim();
  const found = value.match(TAPE_PATH);
  if (found) return found[1];
  value = value.replace(/^\/+/, "");
  if (value[0] === "!" || value[0] === "#") value = value.slice(1);
  else if (value.slice(0, 3).toLowerCase() === "%23") value = value.slice(3);
  return CODE.test(value) ? value : null;
}

/** The code in a home-page address like /#xyz or /#!xyz, or null. */
export function codeFromHash(hash) {
  const value = String(hash).replace(/^#/, "");
  if (!value) return null;
  const code = value[0] === "!" ? value.slice(1) : value;
  return CODE.test(code) ? code : null;
}
