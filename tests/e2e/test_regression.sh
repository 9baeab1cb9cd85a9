#!/bin/bash
# A regression detected for real: runs through a delay-injecting TCP proxy
# (tests/delayproxy.sh) are slower for a physical reason; `redbench analyze`
# must exit 1 naming the series, and exit 0 for an unchanged run.
# The practical threshold is 50% here: this machine is shared and noisy, and
# the injected delay (1 ms per round trip against ~0.1 ms) is far beyond it.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

bench() { # bench PORT OUT: one run of the cell under test
  "$RB" run --target "127.0.0.1:$1" --scenarios get --concurrency 4 --pipeline 1 \
    --requests 3000 --iterations 4 --warmup 300 --dataset-size 500 --quiet \
    --collector "$URL" --out "$2" > /dev/null
}
# Five baseline runs: with fewer, the default rule's prediction interval of the
# run medians is wide on a loaded machine (docs/analysis.md), wide enough to
# miss even a 20-fold drop of throughput (seen with three).
base_ok=1
for i in 1 2 3 4 5; do bench "$REDIS_PORT" "$TMP/base$i.json" || base_ok=0; done
check "five baseline runs on main" [ $base_ok = 1 ]

"$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 500 --max-seconds 120 > "$TMP/proxy.out" 2>&1 &
PPID_=$!; PIDS="$PIDS $PPID_"
for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/proxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
check "delay proxy is listening" [ -n "$PPORT" ]

bench "$PPORT" "$TMP/slow.json"
SLOW=$(jget "$TMP/slow.json" '$.run_id')
"$RB" analyze --run "$SLOW" --db "$DB" --threshold 0.5 > "$TMP/slow.out" 2> "$TMP/slow.err"
rc=$?
cat "$TMP/slow.out" | sed 's/^/# /'
check "analyze exits 1 on the slowed run" [ $rc = 1 ]
# Which metric crosses the line first depends on this machine's noise: the
# proxy's 1 ms per round trip moves all three far.
check "the verdict names the series and metric" grep -Eq "regression: get/get mode=single .* c=4 p=1 v=64 d=500 (ops_per_sec|p50_us|p99_us) " "$TMP/slow.err"
check "the collector stored the regression verdict on ingest" \
  [ "$(sql "$DB" "select count(*) from verdicts where run_id='$SLOW' and status='regression'")" -ge 1 ]
"$RB" analyze --run "$SLOW" --collector "$URL" --threshold 0.5 --format json > "$TMP/slow_remote.json"
rc=$?
check "analyze through the collector agrees (exit 1, JSON)" sh -c "[ $rc = 1 ] && grep -q '\"status\":[[:space:]]*\"regression\"' '$TMP/slow_remote.json'"
"$RB" analyze --run "$SLOW" --db "$DB" --threshold 0.5 --format markdown > "$TMP/slow.md"
check "markdown verdict has a table row for the regression" grep -q "| regression |\|❌ regression" "$TMP/slow.md"

# An unchanged run, judged with a 300% threshold (as in test_analyze.sh): other
# work on a shared machine can slow a run by 50-90% for real (seen with two test
# suites at once), while the proxy above moves every metric 25-40-fold. A CPU
# hog can still slow one run more, so up to three are measured; one clean pass is what this checks (a
# flagged attempt gets a regression verdict on ingest and stays out of the
# next attempt's baseline).
for attempt in 1 2 3; do
  bench "$REDIS_PORT" "$TMP/same.json"
  SAME=$(jget "$TMP/same.json" '$.run_id')
  "$RB" analyze --run "$SAME" --db "$DB" --threshold 3 > "$TMP/same.out" 2>&1
  rc=$?
  sed 's/^/# /' "$TMP/same.out"
  [ $rc = 0 ] && break
  echo "# attempt $attempt: the unchanged run was flagged (a noisy machine?); measuring again"
done
check "analyze exits 0 on an unchanged run" [ $rc = 0 ]
# The baseline runs: base1..5 less any the collector flagged on ingest (noise
# can flag one); never the slowed run.
NB=$(sql "$DB" "select count(*) from runs u where u.id in ('$(jget "$TMP/base1.json" '$.run_id')',
  '$(jget "$TMP/base2.json" '$.run_id')', '$(jget "$TMP/base3.json" '$.run_id')',
  '$(jget "$TMP/base4.json" '$.run_id')', '$(jget "$TMP/base5.json" '$.run_id')')
  and not exists (select 1 from verdicts v where v.run_id = u.id and v.status = 'regression' and v.triage is null and v.test <> 'slo')")
check "the slowed run is left out of the unchanged run's baseline ($NB unflagged baseline runs of 5)" \
  sh -c "[ '$NB' -ge 2 ] && grep 'ops_per_sec' '$TMP/same.out' | awk '{print \$(NF-1)}' | grep -qx '$NB'"

"$RB" analyze --run does-not-exist --db "$DB" > /dev/null 2> "$TMP/nf.err"
rc=$?
check "analyze of an unknown run exits 2 with a reason" sh -c "[ $rc = 2 ] && grep -q 'not found' '$TMP/nf.err'"

check "collector stops cleanly on SIGTERM" stop_collector
finish
