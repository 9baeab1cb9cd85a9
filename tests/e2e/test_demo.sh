#!/bin/bash
# `make demo`'s script end to end, shortened: its own redis-server and collector,
# runs on main, a verdict, the dashboard URL, and everything stopped afterwards.
. "$(dirname "$0")/lib.sh"
ROOT=${RB_ROOT:?}
DB="$TMP/demo.db"
# It serves until stopped (SIGTERM, as Ctrl-C would) once the dashboard was
# checked; REDBENCH_DEMO_SECONDS only bounds it should the signal not come.
# exec: $DEMO is timeout itself, which passes SIGTERM on to the demo's processes.
( cd "$ROOT" && REDBENCH_DEMO_PORT=0 REDBENCH_DEMO_RUNS=3 REDBENCH_DEMO_SECONDS=120 REDBENCH_DEMO_DB="$DB" \
  exec timeout 300 sh scripts/demo.sh "$RB" > "$TMP/demo.out" 2>&1 ) &
DEMO=$!
URL=""
for i in $(seq 1 2400); do # at most 240 s: three runs on a loaded machine
  URL=$(sed -n 's/^== dashboard: \(http:[^ ]*\)\/$/\1/p' "$TMP/demo.out")
  [ -n "$URL" ] && break
  kill -0 $DEMO 2>/dev/null || break
  sleep 0.1
done
check "demo prints the dashboard URL" [ -n "$URL" ]
check "the dashboard answers while the demo serves" sh -c "curl -sf -m 30 '$URL/' | grep -q 'Latest runs'"
kill -TERM $DEMO 2>/dev/null
wait $DEMO
check "demo exits 0" [ $? = 0 ]
check "demo printed a verdict table" grep -q "insufficient baseline (threshold" "$TMP/demo.out"
check "demo stored 3 runs on main" [ "$(sql "$DB" "select count(*) from runs where branch='main'")" = 3 ]
check "the last run has verdicts" [ "$(sql "$DB" "select count(*) from verdicts v join runs r on r.id=v.run_id where r.commit_sha='demo-3' and v.status <> 'insufficient_baseline'")" -gt 0 ]
check "demo stopped its collector" sh -c "! curl -s -m 2 '$URL/healthz' >/dev/null"
sed 's/^/# /' "$TMP/demo.out" | grep -v "^#   " | tail -4
finish
