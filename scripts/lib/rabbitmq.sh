# RabbitMQ from Debian's rabbitmq-server, run as the calling user with every path under
# $STATE_DIR/rabbitmq. Sourced by scripts/services.
#
# We call the real scripts in /usr/lib/rabbitmq/bin: the /usr/sbin ones are wrappers that
# `su` to the rabbitmq user and use /var/lib/rabbitmq. Server and CLI therefore share the
# Erlang cookie in $HOME/.erlang.cookie (created by the first start if missing).

RABBITMQ_PORT=5672
RABBITMQ_NODE=rabbit@localhost
RMQ_BIN=/usr/lib/rabbitmq/bin
RMQ_DIR=$STATE_DIR/rabbitmq

rabbitmq_packages() { echo rabbitmq-server; }

rabbitmq_env() {
  export RABBITMQ_NODENAME=$RABBITMQ_NODE
  export RABBITMQ_NODE_IP_ADDRESS=$HOST RABBITMQ_NODE_PORT=$RABBITMQ_PORT RABBITMQ_DIST_PORT=25672
  export RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia RABBITMQ_LOG_BASE=$RMQ_DIR/log
  export RABBITMQ_PID_FILE=$RMQ_DIR/rabbit.pid
  # Our own (empty) env file, config and plugin list: ignore whatever is in /etc/rabbitmq.
  export RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf
  export RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins
  # Keep Erlang distribution (epmd, inter-node port) on loopback too.
  export ERL_EPMD_ADDRESS=$HOST
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbitmq_ctl() { (rabbitmq_env && "$RMQ_BIN/rabbitmqctl" -n "$RABBITMQ_NODE" "$@"); }
rabbitmq_diag() { (rabbitmq_env && "$RMQ_BIN/rabbitmq-diagnostics" -n "$RABBITMQ_NODE" "$@"); }

rabbitmq_write_config() {
  mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  echo '[].' >"$RMQ_DIR/enabled_plugins"
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = $HOST:$RABBITMQ_PORT
# guest/guest is allowed from loopback only, which is all we listen on.
loopback_users.guest = true
# Small CI disks must not trip the free-disk alarm and block publishers.
disk_free_limit.absolute = 50MB
EOF
}

rabbitmq_booted() { rabbitmq_ctl -q await_startup --timeout 10 >/dev/null 2>&1; }

# Wait for the node to finish booting; give up early if the server process died.
rabbitmq_wait() {
  local deadline=$((SECONDS + $1))
  until rabbitmq_booted; do
    if ! pid_alive "$RMQ_DIR/server.pid"; then
      show_log "$RMQ_DIR/log/startup.log"; die "rabbitmq-server exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$RMQ_DIR/log/startup.log"; die "rabbitmq did not finish booting within $1s"
    fi
    sleep 0.5
  done
  wait_until 15 port_open "$RABBITMQ_PORT" || die "rabbitmq booted but $HOST:$RABBITMQ_PORT is closed"
  rabbitmq_diag -q check_port_connectivity >/dev/null ||
    die "rabbitmq-diagnostics check_port_connectivity failed"
}

rabbitmq_up() {
  local t0
  t0=$(now)
  if port_open "$RABBITMQ_PORT"; then
    log "rabbitmq: already running on $HOST:$RABBITMQ_PORT, node $RABBITMQ_NODE (checked in $(since "$t0")s)"
    return 0
  fi
  [[ -x $RMQ_BIN/rabbitmq-server ]] || die "$RMQ_BIN/rabbitmq-server missing (package rabbitmq-server)"
  if pid_alive "$RMQ_DIR/server.pid"; then
    # The node is up but its app was stopped (rabbitmqctl stop_app in a test): start it again.
    log "rabbitmq: node alive but app stopped; running start_app"
    rabbitmq_ctl -q start_app >/dev/null
  else
    rabbitmq_write_config
    (rabbitmq_env && spawn "$RMQ_DIR/log/startup.log" "$RMQ_DIR/server.pid" "$RMQ_BIN/rabbitmq-server")
  fi
  rabbitmq_wait 90
  log "rabbitmq: started on $HOST:$RABBITMQ_PORT, node $RABBITMQ_NODE in $(since "$t0")s"
}

rabbitmq_down() {
  if pid_alive "$RMQ_DIR/server.pid"; then
    # `stop <pidfile>` returns once the Erlang VM has exited.
    if pid_alive "$RMQ_DIR/rabbit.pid"; then
      rabbitmq_ctl -q stop "$RMQ_DIR/rabbit.pid" >/dev/null 2>&1 || true
    fi
    stop_pid "$RMQ_DIR/server.pid" 30
  elif port_open "$RABBITMQ_PORT"; then
    warn "port $RABBITMQ_PORT answers but was not started by scripts/services; leaving it alone"
  fi
  rm -f "$RMQ_DIR/rabbit.pid"
  log "rabbitmq: stopped"
}

rabbitmq_status() {
  local state=stopped
  port_open "$RABBITMQ_PORT" && state=running
  if [[ $state == stopped ]] && pid_alive "$RMQ_DIR/server.pid"; then state="node-up/app-stopped"; fi
  printf '%-15s %-8s %s:%s (node %s)\n' rabbitmq "$state" "$HOST" "$RABBITMQ_PORT" "$RABBITMQ_NODE"
}
