# Shared by scripts/run and scripts/test: find Python 3.12+, make .venv, install the lock.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

find_python() {
  local candidate
  for candidate in python3.13 python3.12; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)"/versions/3.1[23]*/bin/python3; do
      [ -x "$candidate" ] && { echo "$candidate"; return 0; }
    done
  fi
  echo "Tapesite needs Python 3.12 or newer (PyAV 19 does); install python3.12 and try again." >&2
  return 1
}

ensure_venv() {
  local stamp="$VENV/.installed-lock"
  if [ ! -x "$PY" ]; then
    local python; python="$(find_python)"
    echo "==> creating .venv with $python"
    "$python" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/requirements.lock" "$stamp"; then
    echo "==> installing Python packages from requirements.lock"
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.lock"
    cp "$ROOT/requirements.lock" "$stamp"
  fi
}
