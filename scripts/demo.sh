#!/usr/bin/env bash
# The demo: installs and builds, starts a local Kafka and moka-sim, runs
# moka-bridge, sends sample events of both kinds and prints their replies and
# dead-letter records, then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target moka-bridge moka-sim

WORK=$(mktemp -d /tmp/moka-bridge-demo.XXXXXX)
SIM_PID= BRIDGE_PID=
cleanup() {
    [ -n "$BRIDGE_PID" ] && kill "$BRIDGE_PID" 2>/dev/null && wait "$BRIDGE_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
    "$ROOT/scripts/kafka.sh" stop "$WORK/kafka" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting Kafka"
eval "$(scripts/kafka.sh start "$WORK/kafka")"
B=$KAFKA_BROKERS
for t in moka.customer.update moka.sale-list.request; do
    for s in "" .reply .dlq; do
        scripts/kafka.sh create-topic "$B" "$t$s" 4 >/dev/null
    done
done

echo "== starting moka-sim"
build/src/sim/moka-sim --listen 127.0.0.1:0 --port-file "$WORK/sim.port" \
    --fixture config/moka-sim-fixture.json >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 50); do [ -s "$WORK/sim.port" ] && break; sleep 0.1; done
SIM_URL="http://127.0.0.1:$(cat "$WORK/sim.port")"

echo "== starting moka-bridge (config/moka-bridge.conf, overridden by env)"
MOKA_BRIDGE_KAFKA_BROKERS=$B \
MOKA_BRIDGE_KAFKA_GROUP_ID=moka-bridge-demo \
MOKA_BRIDGE_MOKA_BASE_URL=$SIM_URL \
MOKA_BRIDGE_MOKA_PASSWORD=HYSYHDS8DU8HU \
MOKA_BRIDGE_RETRY_BASE_MS=50 \
    build/moka-bridge run --config config/moka-bridge.conf 2>"$WORK/bridge.log" &
BRIDGE_PID=$!

echo "== sending sample events"
kcat -P -b "$B" -t moka.customer.update -K'|' -H correlation-id=demo-1 <<'JSON'
C1|{"CustomerCode":"C1","FirstName":"Elif","LastName":"Y","Gender":"2","Password":"Elif1234","Email":"elif.y@example.com"}
JSON
kcat -P -b "$B" -t moka.customer.update -K'|' -H correlation-id=demo-2 <<'JSON'
C2|{"CustomerCode":"C2","Email":"not-an-email"}
JSON
kcat -P -b "$B" -t moka.customer.update -K'|' -H correlation-id=demo-3 <<'JSON'
C3|{"CustomerCode":"C3","Nickname":"unknown field"}
JSON
kcat -P -b "$B" -t moka.sale-list.request -K'|' -H correlation-id=demo-4 <<'JSON'
sales|{}
JSON

show() { # topic count
    echo "-- $1"
    kcat -C -b "$B" -t "$1" -o beginning -c "$2" -e -q \
        -f '   key=%k headers=%h\n   value=%s\n' | cut -c1-400
}
for _ in $(seq 100); do
    n=$(kcat -C -b "$B" -t moka.customer.update.reply -o beginning -e -q -f '.\n' 2>/dev/null | wc -l)
    [ "$n" -ge 3 ] && break
    sleep 0.2
done
sleep 1
echo "== replies"
show moka.customer.update.reply 3
show moka.sale-list.request.reply 1
echo "== dead-letter records"
show moka.customer.update.dlq 2
echo "== moka-bridge log (last lines)"
tail -n 5 "$WORK/bridge.log" | cut -c1-300
