#!/bin/bash
# The analyzer as a CI gate, end to end through a real collector and a real
# redis-server: exit codes 0/1/2/3, --fail-on, --insufficient, --format github
# annotations, a thresholds file that changes a verdict, SLO limits (from a
# file and from the warehouse's thresholds table), and the environment
# differences a regression lists (maxmemory-policy changed between runs).
# Slow runs go through the delay proxy (tests/delayproxy.sh); thresholds are
# 50% where machine noise must not decide (as in test_regression.sh).
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

bench() { # bench PORT OUT [run options]: one run of the cell under test
  p=$1; o=$2; shift 2
  "$RB" run --target "127.0.0.1:$p" --scenarios get --concurrency 4 --pipeline 1 \
    --requests 3000 --iterations 4 --warmup 300 --dataset-size 500 --quiet \
    --collector "$URL" --out "$o" "$@" > /dev/null
}
an() { "$RB" analyze --collector "$URL" "$@"; }
KEY="get/get mode=single region=local>local preset=local c=4 p=1 v=64 d=500"

# ---- a fresh series: insufficient baseline (exit 3) ----
bench "$REDIS_PORT" "$TMP/r1.json" || notok "first run uploads"
R1=$(jget "$TMP/r1.json" '$.run_id')
an --run "$R1" > "$TMP/r1.out" 2> "$TMP/r1.err"
rc=$?
check "no baseline yet: exit 3" [ $rc = 3 ]
check "  and stderr says why and how to pass" grep -q "without enough baseline.*--insufficient pass" "$TMP/r1.err"
check "  and every verdict is insufficient_baseline" grep -q "0 pass, 3 insufficient baseline" "$TMP/r1.out"
an --run "$R1" --insufficient pass > /dev/null 2>&1
check "--insufficient pass: exit 0" [ $? = 0 ]
an --run "$R1" --insufficient fail --fail-on never > /dev/null 2>&1
check "--fail-on never: exit 0 even so" [ $? = 0 ]
an --run "$R1" --format github > "$TMP/r1.gh" 2>/dev/null
check "--format github: one ::warning for the result" \
  sh -c "[ \$(grep -c '^::warning title=redbench insufficient baseline::' '$TMP/r1.gh') = 1 ] && grep -q '^::warning.*$KEY: 0 baseline runs on main (need 2), not judged: ops_per_sec p50_us p99_us' '$TMP/r1.gh'"
an --run "$R1" --format json > "$TMP/r1.json.out" 2>/dev/null
check "--format json: summary status insufficient_baseline" \
  [ "$(jget "$TMP/r1.json.out" '$.summary.status')" = insufficient_baseline ]

# ---- baseline, then an unchanged run (exit 0) ----
# Four runs in all (five with the unchanged one) before the slowed run below:
# with fewer, the default rule's prediction interval of the run medians is so
# wide on a loaded machine that even a 20-fold drop of ops/s can stay inside it.
base_ok=1
for i in 2 3 4; do bench "$REDIS_PORT" "$TMP/r$i.json" || base_ok=0; done
check "three more runs on main" [ $base_ok = 1 ]
# A threshold of 300%: other work on a shared machine can double latencies
# between two runs; the delay proxy below multiplies them by 20 and more. A CPU
# hog can still slow one run for real, so up to three runs are measured; one
# clean pass is what this checks (a flagged attempt stays out of later baselines).
for attempt in 1 2 3; do
  bench "$REDIS_PORT" "$TMP/same.json"
  SAME=$(jget "$TMP/same.json" '$.run_id')
  an --run "$SAME" --threshold 3 > "$TMP/same.out" 2>&1
  rc=$?
  sed 's/^/# /' "$TMP/same.out"
  [ $rc = 0 ] && break
  echo "# attempt $attempt: the unchanged run was flagged (a noisy machine?); measuring again"
done
check "unchanged run: exit 0" [ $rc = 0 ]
# The baseline: r1..r4, less any the collector flagged on ingest (noise can flag one).
NB=$(sql "$DB" "select count(*) from runs u where u.id in ('$R1', '$(jget "$TMP/r2.json" '$.run_id')',
  '$(jget "$TMP/r3.json" '$.run_id')', '$(jget "$TMP/r4.json" '$.run_id')')
  and not exists (select 1 from verdicts v where v.run_id = u.id and v.status = 'regression' and v.triage is null and v.test <> 'slo')")
check "  judged against the $NB unflagged baseline runs (of 4) by the default rule" \
  sh -c "[ '$NB' -ge 2 ] && grep -q 'ops_per_sec .* ±300% run-spread+mann-whitney+threshold .* $NB  pass' '$TMP/same.out'"

# ---- SLOs: from a file (--db) and from the warehouse table (--collector) ----
printf 'slo get p99_us < 1us   # impossible\nslo get ops_per_sec > 1\n' > "$TMP/slo.thresholds"
"$RB" analyze --run "$SAME" --db "$DB" --threshold 3 --thresholds "$TMP/slo.thresholds" > "$TMP/slo.out" 2> "$TMP/slo.err"
rc=$?
check "SLO violated (file): exit 1" [ $rc = 1 ]
check "  the table says SLO-VIOLATION for p99_us" grep -q "p99_us .*limit<1 .* slo .*SLO-VIOLATION" "$TMP/slo.out"
check "  the met SLO passes" grep -q "ops_per_sec .*limit>1 .* slo .* pass" "$TMP/slo.out"
check "  stderr names it" grep -q "^slo violation: $KEY p99_us .*(limit p99_us < 1)" "$TMP/slo.err"
"$RB" analyze --run "$SAME" --db "$DB" --threshold 3 --thresholds "$TMP/slo.thresholds" --format github > "$TMP/slo.gh" 2>/dev/null
check "  github: an ::error SLO annotation" grep -q "^::error title=redbench SLO violation::$KEY p99_us .* violates the SLO p99_us < 1" "$TMP/slo.gh"
PROJECT=$(jget "$TMP/same.json" '$.project')
sql "$DB" "insert into thresholds(project, selector, settings, note) values ('$PROJECT', 'op=get', 'slo p99_us < 1us', 'e2e')"
an --run "$SAME" --threshold 3 --format json > "$TMP/slo_wh.json" 2>/dev/null
rc=$?
check "SLO from the warehouse's thresholds table, through the collector: exit 1" \
  [ $rc = 1 -a "$(jget "$TMP/slo_wh.json" '$.summary.status')" = regression ]
check "  the verdict is test slo with its limit" \
  [ "$(sqlite3 :memory: "select json_extract(value, '\$.slo') from json_each(cast(readfile('$TMP/slo_wh.json') as text), '\$.verdicts') where json_extract(value, '\$.test') = 'slo'")" = "p99_us < 1" ]
sql "$DB" "delete from thresholds"

# ---- a regression with a changed environment (exit 1) ----
redis-cli -p "$REDIS_PORT" config set maxmemory-policy allkeys-lru > /dev/null
"$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 500 --max-seconds 240 > "$TMP/proxy.out" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/proxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
check "delay proxy is listening" [ -n "$PPORT" ]
bench "$PPORT" "$TMP/slow.json"
redis-cli -p "$REDIS_PORT" config set maxmemory-policy noeviction > /dev/null
SLOW=$(jget "$TMP/slow.json" '$.run_id')
an --run "$SLOW" --threshold 0.5 > "$TMP/slow.out" 2> "$TMP/slow.err"
rc=$?
sed 's/^/# /' "$TMP/slow.out"
check "slowed run: exit 1" [ $rc = 1 ]
check "  ops_per_sec is a REGRESSION" grep -q "^$KEY  ops_per_sec .*REGRESSION" "$TMP/slow.out"
check "  the table lists the changed eviction policy" \
  grep -q "differs from the baseline: config maxmemory-policy: noeviction → allkeys-lru" "$TMP/slow.out"
an --run "$SLOW" --threshold 0.5 --format github > "$TMP/slow.gh" 2>/dev/null
check "  github: ::error with test, p, threshold, baseline size and the difference" \
  grep -q "^::error title=redbench regression::$KEY ops_per_sec -[0-9.]*%25 (baseline .*run-spread+mann-whitney+threshold p=.*threshold ±50%25; [0-9]* baseline runs); differs: config maxmemory-policy: noeviction → allkeys-lru" "$TMP/slow.gh"
an --run "$SLOW" --threshold 0.5 --format markdown > "$TMP/slow.md" 2>/dev/null
check "  markdown: a ❌ row and the environment section" \
  sh -c "grep -q '| \`$KEY\` | ops/s |.*❌ regression |' '$TMP/slow.md' && grep -q 'config maxmemory-policy: noeviction → allkeys-lru' '$TMP/slow.md'"
an --run "$SLOW" --threshold 0.5 --format json > "$TMP/slow.json.out" 2>/dev/null
check "  json: env_diff on the regression" \
  [ "$(sqlite3 :memory: "select json_extract(value, '\$.env_diff[0].candidate') from json_each(cast(readfile('$TMP/slow.json.out') as text), '\$.verdicts') where json_extract(value, '\$.metric') = 'ops_per_sec'")" = allkeys-lru ]
check "the collector stored the regression with its env_diff on ingest" \
  sh -c "sqlite3 '$DB' \"select env_diff from verdicts where run_id='$SLOW' and metric='ops_per_sec' and status='regression'\" | grep -q 'maxmemory-policy'"
an --run "$SLOW" --threshold 0.5 --fail-on never > /dev/null 2>&1
check "--fail-on never: exit 0 on a regression" [ $? = 0 ]

# ---- a thresholds file changes the verdict (--db; the default file is picked up) ----
"$RB" analyze --run "$SLOW" --db "$DB" > /dev/null 2>&1
check "default settings: the slowed run regresses (exit 1)" [ $? = 1 ]
printf '# nothing short of a 100-fold change matters here\n* threshold=99\n' > "$TMP/loose.thresholds"
"$RB" analyze --run "$SLOW" --db "$DB" --thresholds "$TMP/loose.thresholds" > "$TMP/loose.out" 2>&1
check "--thresholds FILE with a 9900% threshold: exit 0" [ $? = 0 ]
mkdir -p "$TMP/proj" && cp "$TMP/loose.thresholds" "$TMP/proj/redbench.thresholds"
( cd "$TMP/proj" && "$RB" analyze --run "$SLOW" --db "$DB" > /dev/null 2>&1 )
check "./redbench.thresholds is read by default (exit 0)" [ $? = 0 ]
( cd "$TMP/proj" && "$RB" analyze --run "$SLOW" --db "$DB" --thresholds none > /dev/null 2>&1 )
check "--thresholds none ignores it (exit 1)" [ $? = 1 ]
printf 'metric=ops_per_sec threshold=99\nmetric=p50_us rule=off\nmetric=p99_us rule=off\n' > "$TMP/opsonly.thresholds"
"$RB" analyze --run "$SLOW" --db "$DB" --threshold 0.5 --thresholds "$TMP/opsonly.thresholds" > "$TMP/opsonly.out" 2>&1
rc=$?
check "a metric line beats --threshold, rule=off drops a metric (exit 0, one verdict)" \
  sh -c "[ $rc = 0 ] && grep -q '^0 regression(s), 0 improvement(s), 1 pass' '$TMP/opsonly.out' && grep -q 'ops_per_sec .*±9900%' '$TMP/opsonly.out'"
printf '* threshold=10%%\nop=get threshold=lots\n' > "$TMP/bad.thresholds"
"$RB" analyze --run "$SLOW" --db "$DB" --thresholds "$TMP/bad.thresholds" > /dev/null 2> "$TMP/bad.err"
check "a bad thresholds file: exit 2 naming file and line" \
  sh -c "[ $? = 2 ] && grep -q 'bad.thresholds:2: threshold=lots' '$TMP/bad.err'"

# ---- --fail-on any-change: an improvement against a slow baseline branch ----
# The collector judges every upload against main, so these slow runs get
# regression verdicts and stay out of baselines until someone accepts them.
SB=""
for i in 1 2 3; do
  bench "$PPORT" "$TMP/sb$i.json" --branch slowbase || notok "slow baseline run $i"
  SB="$SB,'$(jget "$TMP/sb$i.json" '$.run_id')'"
done
"$RB" analyze --db "$DB" --run "$(jget "$TMP/sb3.json" '$.run_id')" --baseline-branch slowbase > /dev/null 2>&1
check "untriaged regressions keep the slow runs out of their own baseline (exit 3)" [ $? = 3 ]
sql "$DB" "update verdicts set triage = 'accepted' where run_id in (${SB#,}) and status = 'regression'"
bench "$REDIS_PORT" "$TMP/fast.json" --branch feature
FAST=$(jget "$TMP/fast.json" '$.run_id')
an --run "$FAST" --baseline-branch slowbase --threshold 0.5 > "$TMP/fast.out" 2>&1
rc=$?
check "an improvement passes with --fail-on regression (exit 0)" \
  sh -c "[ $rc = 0 ] && grep -q 'ops_per_sec .*improvement' '$TMP/fast.out'"
an --run "$FAST" --baseline-branch slowbase --threshold 0.5 --fail-on any-change > /dev/null 2>&1
check "--fail-on any-change fails on it (exit 1)" [ $? = 1 ]
an --run "$FAST" --baseline-branch slowbase --threshold 0.5 --format github > "$TMP/fast.gh" 2>/dev/null
check "  github: a ::notice for the improvement" grep -q "^::notice title=redbench improvement::$KEY ops_per_sec +" "$TMP/fast.gh"
"$RB" analyze --db "$DB" --run "$FAST" --baseline-branch slowbase --threshold 0.5 --days 1 > /dev/null 2>&1
check "--days 1 keeps today's baseline (exit 0)" [ $? = 0 ]
"$RB" analyze --db "$DB" --run "$FAST" --baseline-branch slowbase --since 2999-01-01 > /dev/null 2>&1
check "--since in the future leaves no baseline (exit 3)" [ $? = 3 ]

# ---- errors: exit 2 ----
an --run does-not-exist > /dev/null 2> "$TMP/nf.err"
check "unknown run through the collector: exit 2 with a reason" sh -c "[ $? = 2 ] && grep -q 'not found' '$TMP/nf.err'"
"$RB" analyze --run "$SAME" --collector "http://127.0.0.1:1" > /dev/null 2>&1
check "collector unreachable: exit 2" [ $? = 2 ]
an --run "$SAME" --fail-on sometimes > /dev/null 2>&1
check "bad --fail-on: exit 2" [ $? = 2 ]
an --run "$SAME" --since yesterday > /dev/null 2>&1
check "bad --since: exit 2" [ $? = 2 ]

check "collector stops cleanly on SIGTERM" stop_collector
finish
