#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# from the official jars on Maven Central.  See docs/kafka-local.md.
#
#   scripts/kafka.sh fetch                      fetch the jars (cached; fast when present)
#   scripts/kafka.sh start [DIR]                start a broker in DIR (default: new temp dir);
#                                               prints KAFKA_BROKERS=... and KAFKA_DIR=...
#   scripts/kafka.sh stop [DIR]                 stop it and remove DIR (KEEP_KAFKA_DIR=1 keeps it)
#   scripts/kafka.sh status [DIR]               exit 0 when the broker of DIR runs
#   scripts/kafka.sh create-topic BROKERS NAME PARTITIONS [key=value ...]
#   scripts/kafka.sh dump-log BROKERS TOPIC PARTITION
#                                               the record batches of a partition as the broker
#                                               stored them (producer id, sequence, codec), by
#                                               Kafka's DumpLogSegments, from the DIR serving BROKERS
#
# DIR defaults to the one of the last `start` (remembered in $KAFKA_LAST_FILE).
# Progress and errors go to stderr; `start` and `status` print KEY=value lines on stdout.
#
# Environment:
#   KAFKA_VERSION          Kafka version to fetch/run (default 4.1.1)
#   KAFKA_JARS_DIR         jar directory (default ~/.cache/moka-bridge/kafka-<version>/libs)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 60)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 20)
#   KAFKA_PORT, KAFKA_CONTROLLER_PORT   fixed ports instead of free ones picked at random
#   KAFKA_EXTRA_PROPERTIES extra server.properties lines (key=value, newline separated)
#   KAFKA_HEAP_OPTS        JVM heap flags (default "-Xmx512m -Xms256m")
#   KAFKA_LOG_LEVEL        broker log level (default WARN)
#   KEEP_KAFKA_DIR=1       `stop` keeps DIR (data, logs); `start DIR` then restarts on it
#   KAFKA_LAST_FILE        where the last DIR is remembered (default /tmp/moka-bridge-kafka.last)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_CONF_DIR="$SCRIPT_DIR/kafka"
KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_JARS_DIR=${KAFKA_JARS_DIR:-$HOME/.cache/moka-bridge/kafka-$KAFKA_VERSION/libs}
KAFKA_LAST_FILE=${KAFKA_LAST_FILE:-/tmp/moka-bridge-kafka.last}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-20}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
# From Kafka's bin/kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS).
JVM_PERF_OPTS="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
DIR_MARKER=.moka-bridge-kafka
JARS_MARKER=.moka-bridge-complete

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '5,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

# ---------------------------------------------------------------- jars

jars_stamp() {
    echo "kafka=$KAFKA_VERSION pom=$(sha256sum "$KAFKA_CONF_DIR/pom.xml" | cut -d' ' -f1)"
}

jars_complete() {
    [[ -f "$KAFKA_JARS_DIR/$JARS_MARKER" ]] &&
        [[ "$(cat "$KAFKA_JARS_DIR/$JARS_MARKER")" == "$(jars_stamp)" ]]
}

cmd_fetch() {
    local quiet=${1:-}
    if jars_complete; then
        [[ -n $quiet ]] || log "Kafka $KAFKA_VERSION jars already in $KAFKA_JARS_DIR"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found: run scripts/setup.sh"
    local parent tmp out
    parent=$(dirname "$KAFKA_JARS_DIR")
    mkdir -p "$parent"
    # Serialise concurrent fetches; the second one finds the jars complete.
    exec 8>"$parent/.fetch.lock"
    flock 8
    if jars_complete; then
        exec 8>&-
        return 0
    fi
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_JARS_DIR ..."
    tmp=$(mktemp -d "$parent/.libs.XXXXXX")
    out=$(mktemp)
    if ! mvn -q -B -f "$KAFKA_CONF_DIR/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
            dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$tmp" >"$out" 2>&1; then
        log "error: mvn dependency:copy-dependencies failed (Kafka $KAFKA_VERSION):"
        sed 's/\x1b\[[0-9;]*m//g' "$out" >&2
        rm -rf "$tmp" "$out"
        exit 1
    fi
    rm -f "$out"
    if [[ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
        rm -rf "$tmp"
        die "mvn succeeded but kafka_2.13-$KAFKA_VERSION.jar is missing"
    fi
    jars_stamp >"$tmp/$JARS_MARKER"
    rm -rf "$KAFKA_JARS_DIR"
    mv "$tmp" "$KAFKA_JARS_DIR"
    exec 8>&-
    log "Kafka $KAFKA_VERSION: $(ls "$KAFKA_JARS_DIR" | grep -c '\.jar$') jars in $KAFKA_JARS_DIR"
}

# ---------------------------------------------------------------- processes

# PIDs of live (non-zombie) broker JVMs started for DIR, found by the exact
# -Dmoka.kafka.dir=DIR argument on their command line.  The pattern goes to grep
# through a file, so that no grep of a concurrent kafka.sh matches it.
broker_pids() {
    local dir=$1 f pid
    while IFS= read -r f; do
        pid=${f#/proc/}
        pid=${pid%/cmdline}
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == java ]] || continue
        pid_alive "$pid" && echo "$pid"
    done < <(grep -lzxF -f <(printf '%s\n' "-Dmoka.kafka.dir=$dir") /proc/[0-9]*/cmdline 2>/dev/null || true)
    return 0
}

pid_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
    [[ -n $state && $state != Z ]]
}

# Wait (briefly) until the dead PIDs are reaped and gone from /proc.
wait_reaped() {
    local pid i
    for pid in "$@"; do
        for i in $(seq 40); do
            [[ -e /proc/$pid ]] || break
            sleep 0.05
        done
    done
}

# Stop every broker JVM of DIR: SIGTERM, wait, SIGKILL.  Fails if one survives.
kill_brokers() {
    local dir=$1 pids pid deadline left
    pids=$(broker_pids "$dir")
    [[ -n $pids ]] || return 0
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + STOP_TIMEOUT))
    while :; do
        left=""
        for pid in $pids; do pid_alive "$pid" && left+="$pid "; done
        [[ -n $left ]] || break
        if ((SECONDS >= deadline)); then
            log "broker (pid $left) still running after ${STOP_TIMEOUT}s: SIGKILL"
            for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
            for _ in $(seq 50); do
                [[ -n $(broker_pids "$dir") ]] || break
                sleep 0.1
            done
            break
        fi
        sleep 0.1
    done
    left=$(broker_pids "$dir")
    [[ -z $left ]] || die "broker of $dir still running: pid $(echo $left)"
    # shellcheck disable=SC2086
    wait_reaped $pids
}

# ---------------------------------------------------------------- helpers

# DIR, or the one of the last start; empty when there is none.
resolve_dir() {
    local dir=${1:-}
    if [[ -z $dir && -s $KAFKA_LAST_FILE ]]; then
        dir=$(cat "$KAFKA_LAST_FILE")
    fi
    [[ -n $dir ]] || return 0
    [[ -d $dir ]] && dir=$(cd "$dir" && pwd)
    echo "$dir"
}

# Two distinct free TCP ports on 127.0.0.1.
free_ports() {
    if command -v python3 >/dev/null; then
        python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss:
    s.close()'
        return
    fi
    local ports=() p
    while ((${#ports[@]} < 2)); do
        p=$((20000 + RANDOM % 12000))
        [[ " ${ports[*]-} " == *" $p "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then ports+=("$p"); fi
    done
    echo "${ports[*]}"
}

# Kafka's Uuid text form: 16 random bytes, base64url without padding, not starting with '-'.
random_cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ ${#id} == 22 && $id != -* ]] && { echo "$id"; return; }
    done
}

# The PLAINTEXT port of DIR's server.properties.
plaintext_port() {
    sed -n 's/^listeners=.*PLAINTEXT:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1/server.properties" | head -1
}

# Does the broker at 127.0.0.1:PORT answer metadata requests and list broker 1?
broker_answers() {
    local port=$1
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
    if command -v kcat >/dev/null; then
        kcat -L -b "127.0.0.1:$port" -m 2 2>/dev/null | grep -q "broker 1 at"
    elif command -v python3 >/dev/null && python3 -c 'import confluent_kafka' 2>/dev/null; then
        python3 -c '
import sys
from confluent_kafka.admin import AdminClient
md = AdminClient({"bootstrap.servers": sys.argv[1]}).list_topics(timeout=2)
sys.exit(0 if 1 in md.brokers else 1)' "127.0.0.1:$port" 2>/dev/null
    else
        return 0
    fi
}

write_properties() {
    local dir=$1 port=$2 cport=$3
    sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$cport#g" \
        -e "s#@DATA_DIR@#$dir/data#g" "$KAFKA_CONF_DIR/server.properties.in" >"$dir/server.properties"
    if [[ -n ${KAFKA_EXTRA_PROPERTIES:-} ]]; then
        printf '\n# KAFKA_EXTRA_PROPERTIES\n%s\n' "$KAFKA_EXTRA_PROPERTIES" >>"$dir/server.properties"
    fi
}

format_storage() {
    local dir=$1
    # Short-lived tool: C1 only and a small heap start faster.
    # shellcheck disable=SC2086
    if ! java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$KAFKA_CONF_DIR/log4j2.properties" \
            -cp "$KAFKA_JARS_DIR/*" kafka.tools.StorageTool \
            format -t "$(random_cluster_id)" -c "$dir/server.properties" --standalone \
            >"$dir/format.log" 2>&1; then
        log "error: formatting the storage failed:"
        cat "$dir/format.log" >&2
        return 1
    fi
}

launch_broker() {
    local dir=$1
    rm -f "$dir/broker.pid"
    # In its own session (setsid: no terminal signals), under a small bash that waits
    # for the JVM: it reaps the JVM the moment it exits, so no defunct java lingers
    # where PID 1 is slow to reap orphans.
    # shellcheck disable=SC2086,SC2016
    (cd "$dir" && exec setsid bash -c 'java "$@" & echo $! >broker.pid; wait $!' _ \
        $HEAP_OPTS $JVM_PERF_OPTS -XX:+ExitOnOutOfMemoryError \
        -Dlog4j2.configurationFile="$KAFKA_CONF_DIR/log4j2.properties" \
        -Dmoka.kafka.log.level="${KAFKA_LOG_LEVEL:-WARN}" \
        -Dkafka.logs.dir="$dir" -Dmoka.kafka.dir="$dir" \
        -cp "$KAFKA_JARS_DIR/*" kafka.Kafka "$dir/server.properties") \
        </dev/null >"$dir/broker.log" 2>&1 &
    local i
    for i in $(seq 250); do
        [[ -s "$dir/broker.pid" ]] && return 0
        sleep 0.02
    done
    die "the broker did not start (no $dir/broker.pid)"
}

# 0: answers; 1: timeout; 2: the JVM exited.
wait_ready() {
    local dir=$1 port=$2 pid deadline
    pid=$(cat "$dir/broker.pid")
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        pid_alive "$pid" || return 2
        broker_answers "$port" && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# ---------------------------------------------------------------- commands

STARTING_DIR=""
on_start_exit() {
    local rc=$?
    if [[ -n $STARTING_DIR ]]; then
        # start did not finish: leave no broker behind.
        KEEP_KAFKA_DIR=1 kill_brokers "$STARTING_DIR" || true
        log "start failed; logs kept in $STARTING_DIR"
    fi
    return $rc
}

cmd_start() {
    local dir=${1:-} port cport rc attempt
    if [[ -z $dir ]]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/moka-bridge-kafka.XXXXXX")
        touch "$dir/$DIR_MARKER"
    else
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        if [[ ! -e "$dir/$DIR_MARKER" ]]; then
            [[ -z $(ls -A "$dir") ]] || die "$dir is not empty and was not made by kafka.sh: give an empty or new DIR"
            touch "$dir/$DIR_MARKER"
        fi
    fi
    [[ -z $(broker_pids "$dir") ]] || die "a broker already runs in $dir (pid $(broker_pids "$dir" | tr '\n' ' '))"
    # Remember DIR at once, so that a bare `stop` also cleans up after a failed start.
    echo "$dir" >"$KAFKA_LAST_FILE"
    cmd_fetch quiet
    command -v java >/dev/null || die "java not found: run scripts/setup.sh"

    STARTING_DIR=$dir
    trap on_start_exit EXIT
    if [[ -f "$dir/server.properties" && -f "$dir/data/meta.properties" ]]; then
        # Restart on the kept storage and ports (after KEEP_KAFKA_DIR=1 kafka.sh stop DIR).
        port=$(plaintext_port "$dir")
        log "restarting the broker of $dir on port $port"
        launch_broker "$dir"
        rc=0
        wait_ready "$dir" "$port" || rc=$?
    else
        for attempt in 1 2 3; do
            if [[ -n ${KAFKA_PORT:-} ]]; then
                port=$KAFKA_PORT
                cport=${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
            else
                read -r port cport < <(free_ports)
            fi
            rm -rf "$dir/data"
            write_properties "$dir" "$port" "$cport"
            format_storage "$dir"
            launch_broker "$dir"
            rc=0
            wait_ready "$dir" "$port" || rc=$?
            [[ $rc == 0 ]] && break
            # Another process took one of the ports between picking and binding: retry.
            if [[ -z ${KAFKA_PORT:-} && $attempt -lt 3 ]] && grep -q "Address already in use" "$dir/broker.log"; then
                log "port $port or $cport was taken; retrying with others"
                kill_brokers "$dir"
                continue
            fi
            break
        done
    fi
    if [[ $rc != 0 ]]; then
        if [[ $rc == 1 ]]; then
            log "error: the broker did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s"
        else
            log "error: the broker exited during startup"
        fi
        if grep -qE 'ERROR|Caused by' "$dir/broker.log"; then
            log "errors in $dir/broker.log:"
            grep -E 'ERROR|Caused by' "$dir/broker.log" | head -n 8 >&2 || true
        fi
        log "last lines of $dir/broker.log:"
        tail -n 25 "$dir/broker.log" >&2 || true
        exit 1
    fi
    STARTING_DIR=""
    trap - EXIT

    {
        echo "KAFKA_BROKERS=127.0.0.1:$port"
        echo "KAFKA_DIR=$dir"
        echo "KAFKA_PID=$(cat "$dir/broker.pid")"
    } >"$dir/env"
    echo "KAFKA_BROKERS=127.0.0.1:$port"
    echo "KAFKA_DIR=$dir"
}

cmd_stop() {
    local dir
    dir=$(resolve_dir "${1:-}")
    if [[ -z $dir ]]; then
        log "nothing to stop: no DIR given and no start recorded in $KAFKA_LAST_FILE"
        return 0
    elif [[ ! -d $dir ]]; then
        log "nothing to stop: $dir does not exist"
    else
        if [[ -n $(broker_pids "$dir") ]]; then
            kill_brokers "$dir"
            log "stopped the broker of $dir"
        else
            log "no broker running in $dir"
        fi
        rm -f "$dir/broker.pid"
        if [[ ${KEEP_KAFKA_DIR:-0} == 1 ]]; then
            log "kept $dir"
        elif [[ -e "$dir/$DIR_MARKER" ]]; then
            rm -rf "$dir"
        else
            log "not removing $dir: it was not made by kafka.sh"
        fi
    fi
    if [[ -s $KAFKA_LAST_FILE && "$(cat "$KAFKA_LAST_FILE")" == "$dir" && ! -d $dir ]]; then
        rm -f "$KAFKA_LAST_FILE"
    fi
}

cmd_status() {
    local dir pids port
    dir=$(resolve_dir "${1:-}")
    [[ -n $dir ]] || { echo "KAFKA_STATUS=stopped"; return 1; }
    pids=$([[ -d $dir ]] && broker_pids "$dir" || true)
    if [[ -z $pids ]]; then
        echo "KAFKA_STATUS=stopped"
        echo "KAFKA_DIR=$dir"
        return 1
    fi
    port=$(plaintext_port "$dir")
    if broker_answers "$port"; then echo "KAFKA_STATUS=running"; else echo "KAFKA_STATUS=starting"; fi
    echo "KAFKA_BROKERS=127.0.0.1:$port"
    echo "KAFKA_DIR=$dir"
    echo "KAFKA_PID=$(echo "$pids" | tr '\n' ' ' | sed 's/ $//')"
}

cmd_create_topic() {
    (($# >= 3)) || usage
    local brokers=$1 name=$2 partitions=$3
    shift 3
    [[ $partitions =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive number, not '$partitions'"
    local kv
    for kv in "$@"; do [[ $kv == ?*=* ]] || die "topic config must be key=value, not '$kv'"; done
    if command -v python3 >/dev/null && python3 -c 'import confluent_kafka' 2>/dev/null; then
        python3 - "$brokers" "$name" "$partitions" "$@" <<'EOF'
import sys, time
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

brokers, name, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = dict(kv.split("=", 1) for kv in sys.argv[4:])
admin = AdminClient({"bootstrap.servers": brokers})
fut = admin.create_topics(
    [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config)],
    request_timeout=30, operation_timeout=30)[name]
try:
    fut.result(timeout=60)
    print(f"kafka.sh: created topic {name} ({partitions} partitions)", file=sys.stderr)
except KafkaException as e:
    if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
        sys.exit(f"kafka.sh: error: creating topic {name}: {e.args[0].str()}")
    print(f"kafka.sh: topic {name} already exists", file=sys.stderr)
# Wait until every partition has a leader, so producers can write at once.
deadline = time.monotonic() + 30
while True:
    try:
        t = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if t is not None and t.error is None and t.partitions and \
                all(p.leader >= 0 and p.error is None for p in t.partitions.values()):
            if len(t.partitions) != partitions:
                print(f"kafka.sh: warning: topic {name} has {len(t.partitions)} partitions, not {partitions}",
                      file=sys.stderr)
            break
    except KafkaException:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"kafka.sh: error: topic {name} has no leaders after 30 s")
    time.sleep(0.1)
EOF
    else
        cmd_fetch quiet
        local args=() out
        for kv in "$@"; do args+=(--config "$kv"); done
        if ! out=$(java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
                -Dlog4j2.configurationFile="$KAFKA_CONF_DIR/log4j2.properties" \
                -cp "$KAFKA_JARS_DIR/*" org.apache.kafka.tools.TopicCommand \
                --bootstrap-server "$brokers" --create --if-not-exists --topic "$name" \
                --partitions "$partitions" --replication-factor 1 "${args[@]}" 2>&1); then
            log "error: creating topic $name:"
            echo "$out" >&2
            exit 1
        fi
        log "topic $name: ${out:-already exists}"
    fi
}

# The batch headers of TOPIC-PARTITION's segments in the data of the broker
# at BROKERS: KAFKA_DIR if set, else the last start's DIR; it must be the one
# serving BROKERS.
cmd_dump_log() {
    (($# == 3)) || usage
    local brokers=$1 topic=$2 partition=$3 dir port segs
    dir=$(resolve_dir "${KAFKA_DIR:-}")
    [[ -n $dir && -f $dir/server.properties ]] || die "no broker directory (set KAFKA_DIR)"
    port=$(plaintext_port "$dir")
    [[ $brokers == "127.0.0.1:$port" ]] ||
        die "$dir serves 127.0.0.1:$port, not $brokers (set KAFKA_DIR)"
    segs=$(find "$dir/data/$topic-$partition" -name '*.log' 2>/dev/null | sort | paste -sd, -)
    [[ -n $segs ]] || die "no segment of $topic-$partition under $dir/data"
    java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_CONF_DIR/log4j2.properties" \
        -cp "$KAFKA_JARS_DIR/*" kafka.tools.DumpLogSegments --files "$segs"
}

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
case $cmd in
fetch) cmd_fetch ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
create-topic) cmd_create_topic "$@" ;;
dump-log) cmd_dump_log "$@" ;;
-h | --help | help) usage 0 ;;
*) log "unknown command: $cmd"; usage ;;
esac
