# The local reference PDS (node/pds.mjs) for scripts/pds and scripts/run. Sourced after lib.sh
# and node.sh.
# shellcheck shell=bash

PDS_DIR="${TAPES_PDS_DIR:-$ROOT/var/pds}"
PDS_PORT="${TAPES_PDS_PORT:-2583}"
PLC_PORT="${TAPES_PLC_PORT:-2582}"

# Start the PDS (and its PLC) in the background, wait until it listens, and export what the site
# needs to use it. Sets PDS_PID.
start_local_pds() {
  ensure_node_modules
  mkdir -p "$PDS_DIR"
  local out="$PDS_DIR/launcher.out"
  : >"$out"
  echo "==> starting the local AT Protocol PDS on 127.0.0.1:$PDS_PORT (PLC on :$PLC_PORT); data in $PDS_DIR"
  echo "    (the first start installs Node 22 and the PDS's packages: that can take a couple of minutes)"
  "$TAPES_NODE" "$ROOT/node/pds.mjs" --port="$PDS_PORT" --plc-port="$PLC_PORT" --dir="$PDS_DIR" \
    >"$out" 2>"$PDS_DIR/launcher.err" &
  PDS_PID=$!
  local line=""
  for _ in $(seq 600); do
    line="$(grep -m1 '"ready":true' "$out" 2>/dev/null || true)"
    [ -n "$line" ] && break
    kill -0 "$PDS_PID" 2>/dev/null || { echo "the PDS exited; see $PDS_DIR/launcher.err" >&2; tail -20 "$PDS_DIR/launcher.err" >&2; return 1; }
    sleep 0.2
  done
  [ -n "$line" ] || { echo "the PDS did not start within 2 minutes" >&2; return 1; }
  ATPROTO_PDS_URL="$(printf '%s' "$line" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pds"])')"
  ATPROTO_PLC_URL="$(printf '%s' "$line" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["plc"])')"
  ATPROTO_PDS_ADMIN_PASSWORD="$(printf '%s' "$line" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["adminPassword"])')"
  # Handles on the local PDS end in .test and have no DNS: the PDS itself resolves them.
  ATPROTO_HANDLE_RESOLVER_URL="$ATPROTO_PDS_URL"
  export ATPROTO_PDS_URL ATPROTO_PLC_URL ATPROTO_PDS_ADMIN_PASSWORD ATPROTO_HANDLE_RESOLVER_URL
  echo "==> PDS at $ATPROTO_PDS_URL, PLC at $ATPROTO_PLC_URL (admin password in $PDS_DIR/secrets.json)"
}
