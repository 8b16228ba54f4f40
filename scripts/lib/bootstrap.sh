# Installs what the repo needs to build and run (pnpm included), then builds. Sourced by
# scripts/demo and scripts/test; a second run is fast (pnpm and turbo both cache).

PNPM_VERSION=10.34.8
TOOLS_DIR="$REPO_ROOT/.tools"

ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [[ $(pnpm --version 2>/dev/null) == "$PNPM_VERSION" ]]; then
    PNPM=(pnpm)
    return
  fi
  if [[ ! -x $TOOLS_DIR/node_modules/.bin/pnpm ]]; then
    echo "bootstrap: installing pnpm $PNPM_VERSION into .tools/" >&2
    npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "pnpm@$PNPM_VERSION" >&2
  fi
  PNPM=("$TOOLS_DIR/node_modules/.bin/pnpm")
  # turbo looks the package manager up on PATH.
  export PATH="$TOOLS_DIR/node_modules/.bin:$PATH"
}

bootstrap() {
  export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
  ensure_pnpm
  (cd "$REPO_ROOT" && "${PNPM[@]}" install --frozen-lockfile --reporter=silent) >&2
  (cd "$REPO_ROOT" && "${PNPM[@]}" exec turbo run build --output-logs=errors-only) >&2
  # pnpm links a workspace package's bin only if its file existed at install time, and dist/ is
  # built after install: a second, offline install links celeriac, celeriac-worker and celeriac-demo.
  (cd "$REPO_ROOT" && "${PNPM[@]}" install --frozen-lockfile --offline --reporter=silent) >&2
}
