# Apache Kafka, single KRaft node, from Maven Central jars (scripts/kafka/pom.xml).
# Sourced by scripts/services. Jars, data and logs live under $STATE_DIR/kafka.

KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
# Secured listeners on the same broker, for the adapter's TLS and SASL tests: TLS only, and
# SASL/SCRAM (SHA-256 and SHA-512) over TLS. Certificates and the SCRAM user are made at setup.
KAFKA_SSL_PORT=9094
KAFKA_SASL_SSL_PORT=9095
KAFKA_SCRAM_USER=celeriac
# What a data dir must have been formatted with (bumped when format-time content changes).
KAFKA_DATA_LAYOUT=scram-v1
KAFKA_DIR=$STATE_DIR/kafka
KAFKA_SRC=$SCRIPTS_DIR/kafka
# Preferred version first; each entry is "<kafka version> <matching log4j version>".
KAFKA_VERSIONS=("4.4.0 2.25.5" "4.3.1 2.25.4")
# The broker keeps files open for every partition, and test runs make topics they never delete.
# Past this many partition folders the data dir is started afresh before the open-files limit
# (often 20,000) stops the broker. It only ever holds test data.
KAFKA_MAX_PARTITION_DIRS=${KAFKA_MAX_PARTITION_DIRS:-6000}

kafka_packages() { :; } # Java and Maven come with the machine.

kafka_version() { cat "$KAFKA_DIR/lib/.version" 2>/dev/null || true; }

# Copy the broker's runtime classpath into $KAFKA_DIR/lib once (stamped with its version).
kafka_fetch_jars() {
  [[ -n $(kafka_version) ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch the Kafka jars)"
  command -v java >/dev/null || die "java not found"
  local t0 pair kv lv
  t0=$(now)
  mkdir -p "$KAFKA_DIR"
  for pair in "${KAFKA_VERSIONS[@]}"; do
    read -r kv lv <<<"$pair"
    log "kafka: fetching Kafka $kv jars from Maven Central"
    rm -rf "$KAFKA_DIR/lib"
    if mvn -q -B -f "$KAFKA_SRC/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_DIR/lib" -DincludeScope=runtime \
      -Dkafka.version="$kv" -Dlog4j.version="$lv" >"$KAFKA_DIR/mvn.log" 2>&1 9>&-; then
      echo "$kv" >"$KAFKA_DIR/lib/.version"
      log "kafka: jars for Kafka $kv ready in $(since "$t0")s"
      return 0
    fi
    warn "kafka: Kafka $kv could not be resolved (see $KAFKA_DIR/mvn.log)"
  done
  show_log "$KAFKA_DIR/mvn.log"
  die "could not fetch any Kafka version (${KAFKA_VERSIONS[*]})"
}

kafka_java() {
  java -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.properties" \
    -cp "$KAFKA_DIR/lib/*" "$@"
}

# A test CA and a broker certificate for 127.0.0.1/localhost, made once with openssl (PEM files
# the broker reads directly), and the SCRAM user's random password. Kept in $KAFKA_DIR/tls.
kafka_tls_material() {
  local tls=$KAFKA_DIR/tls
  [[ -s $tls/broker.pem && -s $tls/ca.pem && -s $tls/scram-password ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (needed for the Kafka TLS listeners)"
  rm -rf "$tls"
  mkdir -p "$tls"
  chmod 700 "$tls"
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=celeriac test CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.crt
    # The broker's PEM keystore: unencrypted PKCS#8 key, then the certificate chain.
    { openssl pkcs8 -topk8 -nocrypt -in broker.key; cat broker.crt ca.pem; } >broker.pem
    openssl rand -hex 16 >scram-password
    chmod 600 ca.key broker.key broker.pem scram-password
  ) >"$KAFKA_DIR/logs/tls.log" 2>&1 || { show_log "$KAFKA_DIR/logs/tls.log"; die "making the Kafka test certificates failed"; }
}

# Write server.properties and format the data dir once. Data formatted by another Kafka version
# (storage is not portable between 4.3 and 4.4) or another layout (the SCRAM user is created at
# format time) is wiped: it only ever holds test data.
kafka_prepare() {
  local version data=$KAFKA_DIR/data password scram=()
  version=$(kafka_version)
  mkdir -p "$KAFKA_DIR/logs"
  kafka_tls_material
  sed -e "s|@LOG_DIRS@|$data|" -e "s|@TLS_DIR@|$KAFKA_DIR/tls|g" \
    "$KAFKA_SRC/server.properties.template" >"$KAFKA_DIR/server.properties"
  if [[ -f $data/meta.properties && "$(cat "$KAFKA_DIR/data.version" 2>/dev/null)" == "$version $KAFKA_DATA_LAYOUT" ]]; then
    return 0
  fi
  rm -rf "$data"
  [[ -s $KAFKA_DIR/cluster-id ]] || kafka_new_cluster_id >"$KAFKA_DIR/cluster-id"
  password=$(<"$KAFKA_DIR/tls/scram-password")
  for m in SCRAM-SHA-256 SCRAM-SHA-512; do
    scram+=(--add-scram "$m=[name=$KAFKA_SCRAM_USER,password=$password]")
  done
  # The tool prints the bootstrap records; keep the SCRAM user's salted keys out of the log.
  if ! kafka_java -Xmx256m kafka.tools.StorageTool format --standalone \
    -t "$(<"$KAFKA_DIR/cluster-id")" -c "$KAFKA_DIR/server.properties" --ignore-formatted "${scram[@]}" \
    2>&1 | sed -E 's/(salt|storedKey|serverKey)=\[[^]]*\]/\1=<redacted>/g' >"$KAFKA_DIR/logs/format.log"; then
    show_log "$KAFKA_DIR/logs/format.log"; die "kafka StorageTool format failed"
  fi
  echo "$version $KAFKA_DATA_LAYOUT" >"$KAFKA_DIR/data.version"
}

# A cluster id is 16 random bytes in unpadded base64url (22 chars). Avoid a leading '-':
# the storage tool's argument parser would take it for an option.
kafka_new_cluster_id() {
  local id=-
  while [[ $id == -* ]]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
  done
  echo "$id"
}

kafka_started_logged() { grep -q 'Kafka Server started' "$KAFKA_DIR/logs/server.log" 2>/dev/null; }

kafka_partition_dirs() {
  # No data dir yet (a fresh machine) is 0; find would fail the pipeline under pipefail.
  [[ -d $KAFKA_DIR/data ]] || { echo 0; return 0; }
  find "$KAFKA_DIR/data" -mindepth 1 -maxdepth 1 -type d | wc -l
}

kafka_up() {
  local t0 t1 dirs
  t0=$(now)
  dirs=$(kafka_partition_dirs)
  if ((dirs > KAFKA_MAX_PARTITION_DIRS)); then
    log "kafka: $dirs partition folders from earlier runs; starting from an empty data dir"
    kafka_down
    rm -rf "$KAFKA_DIR/data"
  fi
  if port_open "$KAFKA_PORT"; then
    log "kafka: already running on $HOST:$KAFKA_PORT (Kafka $(kafka_version), checked in $(since "$t0")s)"
    port_open "$KAFKA_SASL_SSL_PORT" ||
      warn "kafka: started without the TLS/SASL listeners; 'scripts/services restart kafka' adds them"
    return 0
  fi
  if pid_alive "$KAFKA_DIR/kafka.pid"; then
    log "kafka: broker process alive but $HOST:$KAFKA_PORT closed; restarting it"
    stop_pid "$KAFKA_DIR/kafka.pid" 60
  fi
  kafka_fetch_jars
  kafka_prepare
  t1=$(now)
  spawn "$KAFKA_DIR/logs/server.log" "$KAFKA_DIR/kafka.pid" \
    java -Xms512m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.properties" -cp "$KAFKA_DIR/lib/*" \
    kafka.Kafka "$KAFKA_DIR/server.properties"
  # Ready = the start-up line is logged and the client port (opened last) accepts connections.
  local deadline=$((SECONDS + 90))
  until kafka_started_logged && port_open "$KAFKA_PORT" && port_open "$KAFKA_SASL_SSL_PORT"; do
    if ! pid_alive "$KAFKA_DIR/kafka.pid"; then
      show_log "$KAFKA_DIR/logs/server.log"; die "kafka broker exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$KAFKA_DIR/logs/server.log"; die "kafka did not become ready on $HOST:$KAFKA_PORT within 90s"
    fi
    sleep 0.2
  done
  log "kafka: started Kafka $(kafka_version) on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, TLS $KAFKA_SSL_PORT, SASL_SSL $KAFKA_SASL_SSL_PORT) in $(since "$t0")s (broker boot $(since "$t1")s)"
}

kafka_down() {
  if pid_alive "$KAFKA_DIR/kafka.pid"; then
    stop_pid "$KAFKA_DIR/kafka.pid" 60 # SIGTERM = controlled shutdown
  elif port_open "$KAFKA_PORT"; then
    warn "port $KAFKA_PORT answers but was not started by scripts/services; leaving it alone"
  fi
  log "kafka: stopped"
}

kafka_status() {
  local state=stopped v
  port_open "$KAFKA_PORT" && state=running
  v=$(kafka_version)
  printf '%-15s %-8s %s:%s (controller %s, TLS %s, SASL_SSL %s, Kafka %s)\n' kafka "$state" "$HOST" \
    "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SSL_PORT" "$KAFKA_SASL_SSL_PORT" "${v:-not fetched}"
}
