#!/bin/sh
# demo.sh -- the main job on embedded defaults: a private redis-server on a free
# loopback port, a collector with a local warehouse, a short matrix run several
# times on main (the baseline) and once more, the verdict on that last run, and
# the dashboard URL; serves until Ctrl-C, then stops everything it started.
# Usage: scripts/demo.sh path/to/redbench
# Environment: REDBENCH_DEMO_PORT (collector port, default 8080, falls back to
# any free port), REDBENCH_DEMO_RUNS (runs, default 4), REDBENCH_DEMO_SECONDS
# (stop after N seconds instead of waiting for Ctrl-C), REDBENCH_DEMO_DB
# (warehouse file, default build/demo.db; recreated each time).
set -u
RB=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
RUNS=${REDBENCH_DEMO_RUNS:-4}
DB=${REDBENCH_DEMO_DB:-build/demo.db}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redbench-demo.XXXXXX")
REDIS_PID=""; SERVE_PID=""

stop_all() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap 'stop_all; echo; echo "demo: stopped redis-server and the collector; the warehouse stays in $DB"; exit 0' INT TERM
trap 'stop_all' EXIT

say() { printf '\n== %s\n' "$*"; }

say "starting a private redis-server on loopback"
tries=0
while :; do
  tries=$((tries + 1))
  [ $tries -gt 20 ] && { echo "demo: could not start redis-server"; exit 2; }
  PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 30000 ))
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis.log" --daemonize no &
  REDIS_PID=$!
  i=0
  while [ $i -lt 50 ] && ! redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do
    kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; i=$((i + 1))
  done
  redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break
  kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=""
done
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$PORT"

say "starting the collector (warehouse $DB)"
mkdir -p "$(dirname "$DB")"
rm -f "$DB" "$DB-wal" "$DB-shm"
REDBENCH_TOKEN=demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export REDBENCH_TOKEN REDBENCH_SPOOL="$WORK/spool"
start_collector() {
  : > "$WORK/serve.out"
  "$RB" serve --db "$DB" --listen "127.0.0.1:$1" --public-read > "$WORK/serve.out" 2> "$WORK/serve.log" &
  SERVE_PID=$!
  i=0
  while [ $i -lt 100 ]; do
    URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$WORK/serve.out")
    [ -n "$URL" ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
  done
  SERVE_PID=""; return 1
}
start_collector "${REDBENCH_DEMO_PORT:-8080}" || start_collector 0 || {
  echo "demo: the collector did not start:"; cat "$WORK/serve.log"; exit 2; }
echo "collector at $URL"

n=1
while [ $n -le "$RUNS" ]; do
  say "run $n of $RUNS on branch main: set,get x concurrency 1,10 x pipeline 1,16"
  "$RB" run --target "127.0.0.1:$PORT" --scenarios set,get --concurrency 1,10 --pipeline 1,16 \
    --requests 5000 --iterations 3 --warmup 500 --dataset-size 1000 --branch main \
    --commit "demo-$n" --collector "$URL" --quiet || { echo "demo: run $n failed"; exit 2; }
  n=$((n + 1))
done

say "verdict on the last run against the $((RUNS - 1)) before it"
"$RB" analyze --run latest --db "$DB"
echo "(exit status $?: 0 no regression, 1 regression)"

say "dashboard: $URL/"
echo "API: $URL/api/v1/runs   SQL: sqlite3 $DB 'select op, pipeline, round(ops_per_sec) from results'"
if [ -n "${REDBENCH_DEMO_SECONDS:-}" ]; then
  echo "serving for $REDBENCH_DEMO_SECONDS s"
  sleep "$REDBENCH_DEMO_SECONDS"
else
  echo "serving until Ctrl-C"
  wait "$SERVE_PID"
fi
