# Headless Chromium from Debian, for the dashboard's end-to-end browser test (driven by
# playwright-core). Sourced by scripts/services. Not a daemon: `up` only makes sure it is installed.

CHROMIUM_BIN=/usr/bin/chromium

chromium_packages() { echo chromium; }

chromium_version() { "$CHROMIUM_BIN" --version 2>/dev/null; }

chromium_up() {
  [[ -x $CHROMIUM_BIN ]] || die "chromium: $CHROMIUM_BIN missing after installing the chromium package"
  log "chromium: ready, $(chromium_version) at $CHROMIUM_BIN"
}

chromium_down() { log "chromium: nothing to stop"; }

chromium_status() {
  local state=missing v=""
  if [[ -x $CHROMIUM_BIN ]]; then state=ready; v=$(chromium_version); fi
  printf '%-15s %-8s %s\n' chromium "$state" "$v"
}
