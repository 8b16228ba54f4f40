# Redis in three shapes: a single server, a 6-node cluster, and master + replica + sentinel.
# Sourced by scripts/services. All data lives under $STATE_DIR; nothing is persisted to disk.

REDIS_PORT=6379
CLUSTER_PORTS=(7000 7001 7002 7003 7004 7005)
SENTINEL_MASTER_PORT=6380
SENTINEL_REPLICA_PORT=6381
SENTINEL_PORT=26379
SENTINEL_NAME=mymaster

rcli() { redis-cli -h "$HOST" "$@"; }
rping() { [[ "$(rcli -p "$1" ping 2>/dev/null || true)" == PONG ]]; }
# routput_has <port> <glob> <redis command...>: does the reply contain the glob?
# (Captured, not piped into grep -q, so pipefail never sees a SIGPIPE.)
routput_has() {
  local port=$1 pattern=$2 out; shift 2
  out=$(rcli -p "$port" "$@" 2>/dev/null) || return 1
  [[ $out == *$pattern* ]]
}

# redis_start_instance <port> <dir> [extra redis-server args...]
redis_start_instance() {
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  # save "" + appendonly no: tests want a clean, fast, disk-free server.
  # repl-diskless-sync-delay 0: replicas sync at once instead of after the default 5 s.
  redis-server --port "$port" --bind "$HOST" --save "" --appendonly no --repl-diskless-sync-delay 0 \
    --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" 9>&-
}

# redis_stop_instance <port> <dir>: only stops a server this script started (its pid file).
redis_stop_instance() {
  local port=$1 dir=$2
  if pid_alive "$dir/redis.pid"; then
    rcli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    stop_pid "$dir/redis.pid" 10
  elif rping "$port"; then
    warn "port $port answers but was not started by scripts/services; leaving it alone"
  fi
}

redis_wait_ping() { # <port> <dir> <seconds>
  wait_until "$3" rping "$1" && return 0
  show_log "$2/redis.log"
  die "redis on $HOST:$1 did not answer PING within $3s"
}

port_status() { # <name> <port...>: "running" only if every port accepts connections
  local name=$1 p state=running; shift
  for p in "$@"; do port_open "$p" || state=stopped; done
  local ports="$*"
  printf '%-15s %-8s %s:%s\n' "$name" "$state" "$HOST" "${ports// /,}"
}

# ---- redis: single server on 6379 ----
redis_packages() { echo redis-server redis-tools; }

redis_up() {
  local t0 dir=$STATE_DIR/redis
  t0=$(now)
  if rping "$REDIS_PORT"; then
    log "redis: already running on $HOST:$REDIS_PORT (checked in $(since "$t0")s)"; return 0
  fi
  redis_start_instance "$REDIS_PORT" "$dir"
  redis_wait_ping "$REDIS_PORT" "$dir" 30
  log "redis: started on $HOST:$REDIS_PORT in $(since "$t0")s"
}

redis_down() { redis_stop_instance "$REDIS_PORT" "$STATE_DIR/redis"; log "redis: stopped"; }
redis_status() { port_status redis "$REDIS_PORT"; }

# ---- redis-cluster: 3 masters + 3 replicas on 7000-7005 ----
redis_cluster_packages() { redis_packages; }

# Healthy = every node reports cluster_state:ok and all nodes agree on the slot map.
cluster_healthy() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    routput_has "$p" cluster_state:ok cluster info || return 1
  done
  redis-cli --cluster check "$HOST:${CLUSTER_PORTS[0]}" >/dev/null 2>&1
}

redis_cluster_up() {
  local t0 base=$STATE_DIR/redis-cluster p nodes=()
  t0=$(now)
  if cluster_healthy; then
    log "redis-cluster: already running on $HOST:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[-1]} (checked in $(since "$t0")s)"
    return 0
  fi
  # A half-up or stale cluster is not worth repairing: stop it and build a fresh one.
  redis_cluster_down >/dev/null
  rm -rf "$base"
  for p in "${CLUSTER_PORTS[@]}"; do
    redis_start_instance "$p" "$base/$p" --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 5000
    nodes+=("$HOST:$p")
  done
  for p in "${CLUSTER_PORTS[@]}"; do redis_wait_ping "$p" "$base/$p" 30; done
  if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    >"$base/create.log" 2>&1; then
    show_log "$base/create.log"; die "redis-cli --cluster create failed"
  fi
  if ! wait_until 60 cluster_healthy; then
    show_log "$base/create.log"; die "redis-cluster did not reach cluster_state:ok within 60s"
  fi
  log "redis-cluster: started on $HOST:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[-1]} in $(since "$t0")s"
}

redis_cluster_down() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do redis_stop_instance "$p" "$STATE_DIR/redis-cluster/$p"; done
  log "redis-cluster: stopped"
}

redis_cluster_status() { port_status redis-cluster "${CLUSTER_PORTS[@]}"; }

# ---- redis-sentinel: master 6380, replica 6381, one sentinel on 26379 (quorum 1) ----
redis_sentinel_packages() { redis_packages; }

sentinel_master_ok() {
  routput_has "$SENTINEL_PORT" "name=$SENTINEL_NAME,status=ok" info sentinel
}
sentinel_knows_replica() {
  routput_has "$SENTINEL_PORT" "$HOST:$SENTINEL_REPLICA_PORT" sentinel replicas "$SENTINEL_NAME"
}
replica_linked() {
  routput_has "$SENTINEL_REPLICA_PORT" master_link_status:up info replication
}
sentinel_healthy() {
  rping "$SENTINEL_MASTER_PORT" && rping "$SENTINEL_REPLICA_PORT" && rping "$SENTINEL_PORT" &&
    sentinel_master_ok
}

redis_sentinel_up() {
  local t0 base=$STATE_DIR/redis-sentinel
  t0=$(now)
  if sentinel_healthy; then
    log "redis-sentinel: already running (sentinel $HOST:$SENTINEL_PORT, checked in $(since "$t0")s)"
    return 0
  fi
  # Sentinel rewrites its config (and a failover swaps roles): always start from a clean slate.
  redis_sentinel_down >/dev/null
  rm -rf "$base"
  redis_start_instance "$SENTINEL_MASTER_PORT" "$base/$SENTINEL_MASTER_PORT"
  redis_start_instance "$SENTINEL_REPLICA_PORT" "$base/$SENTINEL_REPLICA_PORT" \
    --replicaof "$HOST" "$SENTINEL_MASTER_PORT"
  redis_wait_ping "$SENTINEL_MASTER_PORT" "$base/$SENTINEL_MASTER_PORT" 30
  redis_wait_ping "$SENTINEL_REPLICA_PORT" "$base/$SENTINEL_REPLICA_PORT" 30
  wait_until 30 replica_linked || {
    show_log "$base/$SENTINEL_REPLICA_PORT/redis.log"; die "replica $SENTINEL_REPLICA_PORT never linked"; }

  local sdir=$base/$SENTINEL_PORT
  mkdir -p "$sdir"
  cat >"$sdir/sentinel.conf" <<EOF
port $SENTINEL_PORT
bind $HOST
daemonize yes
pidfile "$sdir/redis.pid"
logfile "$sdir/redis.log"
dir "$sdir"
sentinel monitor $SENTINEL_NAME $HOST $SENTINEL_MASTER_PORT 1
sentinel down-after-milliseconds $SENTINEL_NAME 5000
sentinel failover-timeout $SENTINEL_NAME 10000
sentinel parallel-syncs $SENTINEL_NAME 1
EOF
  redis-server "$sdir/sentinel.conf" --sentinel 9>&-
  redis_wait_ping "$SENTINEL_PORT" "$sdir" 30
  # Ready once the sentinel has seen the master and discovered the replica through it.
  wait_until 30 sentinel_master_ok && wait_until 30 sentinel_knows_replica || {
    show_log "$sdir/redis.log"; die "sentinel did not discover $SENTINEL_NAME and its replica within 60s"; }
  log "redis-sentinel: started (master $HOST:$SENTINEL_MASTER_PORT, replica $HOST:$SENTINEL_REPLICA_PORT, sentinel $HOST:$SENTINEL_PORT) in $(since "$t0")s"
}

redis_sentinel_down() {
  local p
  for p in "$SENTINEL_PORT" "$SENTINEL_REPLICA_PORT" "$SENTINEL_MASTER_PORT"; do
    redis_stop_instance "$p" "$STATE_DIR/redis-sentinel/$p"
  done
  log "redis-sentinel: stopped"
}

redis_sentinel_status() {
  port_status redis-sentinel "$SENTINEL_MASTER_PORT" "$SENTINEL_REPLICA_PORT" "$SENTINEL_PORT"
}
