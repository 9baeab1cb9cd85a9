#!/bin/bash
# ci/gate.sh, the GitHub Action's step, against a real collector: passes while the
# baseline builds up, fails (exit 1, job summary, annotation) on a real slowdown.
. "$(dirname "$0")/lib.sh"
ROOT=${RB_ROOT:?}
start_redis || { notok "redis-server starts"; finish; }
start_collector "$TMP/wh.db" || { notok "collector starts"; finish; }
export GITHUB_STEP_SUMMARY="$TMP/summary.md" REDBENCH_GATE_ANALYZE_ARGS="--threshold 0.5"
ARGS="--scenarios get --concurrency 4 --requests 3000 --iterations 4 --dataset-size 500"
rcs=""
for i in 1 2 3; do
  # The third run is judged: a CPU hog on this shared machine can slow one run
  # for real, so it is measured up to three times (one clean pass counts).
  for attempt in 1 2 3; do
    sh "$ROOT/ci/gate.sh" "$RB" "$URL" --target "127.0.0.1:$REDIS_PORT" $ARGS > "$TMP/g$i.out" 2>&1; rc=$?
    [ $i -lt 3 ] || [ $rc = 0 ] && break
    echo "# run $i, attempt $attempt: exit $rc (a noisy machine?); again"; sed 's/^/#   /' "$TMP/g$i.out" | tail -8
  done
  rcs="$rcs$rc"
done
check "gate passes while the baseline builds (exit 0 x3)" [ "$rcs" = 000 ]
check "job summary written" grep -q "redbench: run" "$GITHUB_STEP_SUMMARY"
"$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 500 --max-seconds 120 > "$TMP/proxy.out" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/proxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
: > "$GITHUB_STEP_SUMMARY"
sh "$ROOT/ci/gate.sh" "$RB" "$URL" --target "127.0.0.1:$PPORT" $ARGS > "$TMP/slow.out" 2>&1
check "gate fails with exit 1 on the slowed run" [ $? = 1 ]
check "job summary shows the regression" grep -q "❌ regression" "$GITHUB_STEP_SUMMARY"
check "an error annotation names the series" grep -q "^::error.*get/get mode=single" "$TMP/slow.out"
sh "$ROOT/ci/gate.sh" "$RB" "http://127.0.0.1:1" --target "127.0.0.1:$REDIS_PORT" $ARGS > "$TMP/down.out" 2>&1
check "gate exits 2 when the collector is unreachable" [ $? = 2 ]
check "collector stops cleanly on SIGTERM" stop_collector
finish
