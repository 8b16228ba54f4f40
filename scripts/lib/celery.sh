# Real Python Celery (5.x) in a virtualenv, for interop tests. Sourced by scripts/services.
# Not a daemon: `up` only makes sure the venv exists; tests start workers themselves.

CELERY_VENV=$STATE_DIR/celery-venv
CELERY_PYTHON=$CELERY_VENV/bin/python
# Flower is pinned: the control-plane tests drive its REST API against Celeriac workers.
CELERY_REQUIREMENTS=('celery[redis]>=5,<6' redis amqp 'flower==2.2.0' opentelemetry-sdk opentelemetry-instrumentation-celery)

celery_packages() {
  # Debian's python3 needs python3-venv for `python3 -m venv`; pyenv-style Pythons do not.
  if command -v python3 >/dev/null && ! python3 -c 'import ensurepip' 2>/dev/null; then
    echo python3-venv
  elif ! command -v python3 >/dev/null; then
    echo python3 python3-venv
  fi
}

celery_ready() { "$CELERY_PYTHON" -c 'import celery, redis, amqp, flower, opentelemetry.sdk, opentelemetry.instrumentation.celery' 2>/dev/null; }
celery_version() { "$CELERY_PYTHON" -c 'import celery; print(celery.__version__)' 2>/dev/null; }

celery_up() {
  local t0
  t0=$(now)
  if [[ -x $CELERY_PYTHON ]] && celery_ready; then
    log "celery: venv ready, celery $(celery_version), python $CELERY_PYTHON (checked in $(since "$t0")s)"
    return 0
  fi
  if [[ -x $CELERY_PYTHON ]] && "$CELERY_PYTHON" -c 'import celery' 2>/dev/null; then
    # A working venv that lacks a newer requirement (e.g. Flower) is topped up in place, so
    # workers other tests run from it keep their files.
    log "celery: installing missing requirements into $CELERY_VENV"
  else
    log "celery: creating venv $CELERY_VENV"
    rm -rf "$CELERY_VENV"
    python3 -m venv "$CELERY_VENV" || die "python3 -m venv failed"
  fi
  if ! "$CELERY_PYTHON" -m pip install -q --disable-pip-version-check "${CELERY_REQUIREMENTS[@]}" \
    >"$STATE_DIR/celery-pip.log" 2>&1; then
    show_log "$STATE_DIR/celery-pip.log"; die "pip install ${CELERY_REQUIREMENTS[*]} failed"
  fi
  celery_ready || die "celery venv created but 'import celery, redis, amqp, flower' fails"
  log "celery: venv ready, celery $(celery_version), python $CELERY_PYTHON in $(since "$t0")s"
}

celery_down() { log "celery: nothing to stop (venv kept at $CELERY_VENV)"; }

celery_status() {
  local state=missing v=""
  if [[ -x $CELERY_PYTHON ]] && celery_ready; then state=ready; v="celery $(celery_version), "; fi
  printf '%-15s %-8s (%spython %s)\n' celery "$state" "$v" "$CELERY_PYTHON"
}
