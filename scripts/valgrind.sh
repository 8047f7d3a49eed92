#!/usr/bin/env bash
# Runs integration tests with every moka-bridge process under valgrind
# memcheck, then checks each report: no errors, no leak definitely lost.
#   scripts/valgrind.sh                       the default set of test files
#   scripts/valgrind.sh test_retry.py -k 503  any pytest arguments instead
# Uses KAFKA_BROKERS when set, else starts a broker with scripts/kafka.sh.
# A bridge ended by SIGKILL writes no summary; those reports are counted and
# skipped. Not part of CI's timed path (memcheck is ~20x slower).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

LOGDIR=$(mktemp -d /tmp/moka-bridge-valgrind.XXXXXX)
KDIR=
cleanup() { [ -n "$KDIR" ] && "$ROOT/scripts/kafka.sh" stop "$KDIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
if [ -z "${KAFKA_BROKERS:-}" ]; then
    KDIR=$(mktemp -d /tmp/moka-bridge-vg-kafka.XXXXXX)
    eval "$(scripts/kafka.sh start "$KDIR")"
    export KAFKA_DIR  # kafka.sh dump-log (test_customer_update) reads the broker's data
fi
export KAFKA_BROKERS
export MOKA_TEST_BRIDGE_WRAPPER="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30 --log-file=$LOGDIR/vg.%p.log"

if [ $# -eq 0 ]; then
    set -- test_customer_update.py test_sale_list.py test_invalid_events.py \
           test_retry.py test_dealers.py test_shutdown.py
fi
echo "== pytest under valgrind (reports in $LOGDIR)"
set +e
(cd tests/integration && python3 -m pytest -q -p no:cacheprovider "$@")
tests_rc=$?
set -e

reports=0 complete=0 bad=0
for f in "$LOGDIR"/vg.*.log; do
    [ -e "$f" ] || continue
    reports=$((reports + 1))
    grep -q "ERROR SUMMARY:" "$f" || continue   # killed with SIGKILL
    complete=$((complete + 1))
    if ! grep -q "ERROR SUMMARY: 0 errors" "$f" ||
       grep -Eq "definitely lost: [1-9]" "$f"; then
        bad=$((bad + 1))
        echo "memcheck report with errors or definite leaks: $f"
        sed -n '1,80p' "$f"
    fi
done
echo "valgrind: $reports bridge processes, $complete with a summary, $bad with errors or definite leaks; pytest exit $tests_rc"
[ "$bad" -eq 0 ] && [ "$complete" -gt 0 ] && [ "$tests_rc" -eq 0 ]
