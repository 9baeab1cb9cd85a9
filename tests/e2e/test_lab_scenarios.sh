#!/bin/bash
# The lab scenarios that need control of the server, and the report:
# `redbench lab persistence-recovery` against real redis-servers it starts and
# kills -9, `redbench lab chaos` through a real `redbench proxy --faults`, both
# uploaded to a real collector; then `redbench report` on that warehouse with
# runs of two modes (single, and client-server through the tests' delay proxy).
. "$(dirname "$0")/lib.sh"

DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }
metric() { # metric SCENARIO OP NAME: the value stored for the latest such result
  sql "$DB" "select m.value from result_metrics m join results x on x.id = m.result_id
             where x.scenario = '$1' and x.op = '$2' and m.name = '$3' order by x.id desc limit 1"
}

# ---- persistence-recovery ----
"$RB" lab persistence-recovery --collector "$URL" -- --keys 3000 --variants aof-always,rdb \
  > "$TMP/persist.out" 2> "$TMP/persist.err"
rc=$?
sed 's/^/# /' "$TMP/persist.out"
check "lab persistence-recovery exits 0" [ $rc = 0 ]
check "the run is in the collector: scenario persistence-recovery, ops aof-always and rdb" \
  [ "$(sql "$DB" "select group_concat(op, ',') from (select op from results
                  where scenario = 'persistence-recovery' order by op)")" = "aof-always,rdb" ]
check "its run is recorded as mode single" \
  [ "$(sql "$DB" "select u.mode from runs u join results x on x.run_id = u.id
                  where x.scenario = 'persistence-recovery' limit 1")" = single ]
acked=$(metric persistence-recovery aof-always acked_writes)
check "aof-always: at least the 3000 writes were acknowledged ($acked)" \
  awk -v a="$acked" 'BEGIN { exit !(a >= 3000) }'
check "aof-always: every acknowledged write survived the kill -9 (survived_ratio = 1)" \
  [ "$(metric persistence-recovery aof-always survived_ratio)" = 1.0 ]
check "aof-always: survived_writes = acked_writes, lost_writes = 0" \
  sh -c "[ '$(metric persistence-recovery aof-always survived_writes)' = '$acked' ] &&
         [ '$(metric persistence-recovery aof-always lost_writes)' = 0.0 ]"
rec=$(metric persistence-recovery aof-always recovery_ms)
check "aof-always: recovery_ms > 0 ($rec)" awk -v r="$rec" 'BEGIN { exit !(r > 0) }'
check "aof-always: loaded no earlier than it answered PING" \
  awk -v r="$rec" -v l="$(metric persistence-recovery aof-always loading_done_ms)" 'BEGIN { exit !(l >= r) }'
check "rdb: exactly the writes acknowledged before the BGSAVE survived" \
  sh -c "[ '$(metric persistence-recovery rdb survived_writes)' = '$(metric persistence-recovery rdb acked_at_bgsave)' ] &&
         awk -v r='$(metric persistence-recovery rdb survived_ratio)' 'BEGIN { exit !(r > 0.3 && r < 0.7) }'"

# ---- chaos ----
FAULTS=1s+1s:latency=30,2500ms+300ms:reset
"$RB" lab chaos --collector "$URL" -- --faults "$FAULTS" --duration 4 --recover-slack-us 5000 \
  --quiet > "$TMP/chaos.out" 2> "$TMP/chaos.err"
rc=$?
sed 's/^/# /' "$TMP/chaos.out"
check "lab chaos exits 0" [ $rc = 0 ]
check "the chaos result is in the collector with its schedule as a param" \
  [ "$(sql "$DB" "select json_extract(params, '$.faults') from results where scenario = 'chaos'")" = "$FAULTS" ]
check "fault 1 is a latency fault, fault 2 a reset" \
  sh -c "[ '$(metric chaos get fault1_kind)' = 1.0 ] && [ '$(metric chaos get fault2_kind)' = 3.0 ]"
check "the reset produced errors (fault2_errors_during > 0, error rate > 0)" \
  awk -v e="$(metric chaos get fault2_errors_during)" -v r="$(metric chaos get fault2_error_rate)" \
  'BEGIN { exit !(e > 0 && r > 0) }'
rms=$(metric chaos get fault2_recovery_ms)
check "the reset's recovery_ms is reported ($rms)" awk -v r="$rms" 'BEGIN { exit !(r != "" && r >= 0) }'
check "latency during the 30 ms latency fault is higher than before it" \
  awk -v b="$(metric chaos get fault1_p50_before_us)" -v d="$(metric chaos get fault1_p50_during_us)" \
      -v b99="$(metric chaos get fault1_p99_before_us)" -v d99="$(metric chaos get fault1_p99_during_us)" \
  'BEGIN { exit !(d > b && d99 > b99 && d >= 25000) }'

# ---- the report: two modes, one a client-server run through a delay proxy ----
start_redis || { notok "redis-server starts"; finish; }
"$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 300 --max-seconds 120 > "$TMP/dproxy.out" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/dproxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
bench() { # bench PORT OUT ARGS...
  port=$1 out=$2; shift 2
  "$RB" run --target "127.0.0.1:$port" --scenarios get --concurrency 2 --requests 1000 \
    --iterations 2 --warmup 100 --dataset-size 100 --quiet --collector "$URL" --out "$out" "$@" > /dev/null
}
bench "$REDIS_PORT" "$TMP/single.json" --mode single
r1=$?
bench "$PPORT" "$TMP/cs.json" --mode client-server --client-region fra --preset 'p|x'
check "a single run and a client-server run through the delay proxy" [ $r1 = 0 -a $? = 0 ]
S=$(jget "$TMP/single.json" '$.run_id'); C=$(jget "$TMP/cs.json" '$.run_id')

"$RB" report --db "$DB" -o "$TMP/R.md" 2> "$TMP/report.err"
check "redbench report exits 0 and writes the file" sh -c "[ $? = 0 ] && [ -s '$TMP/R.md' ]"
sed 's/^/# /' "$TMP/R.md" | head -80
section() { awk -v h="$1" '$0 == h { on = 1; next } /^##/ && on { exit } on' "$TMP/R.md"; }
SOPS=$(sql "$DB" "select printf('%.0f', ops_per_sec) from results where run_id = '$S'")
single_ok() {
  section '### single' | grep -q "Deployment single local→local: run .$S." &&
  section '### single' | grep -q "^| get c=2 p=1 v=64 d=100 | $SOPS | "
}
check "the single section names the single deployment and its get row" single_ok
cs_ok() { section '### client-server' | grep -q "Deployment client-server fra→local: run .$C."; }
check "the client-server section names fra→local" cs_ok
for m in multi-region orchestrated cluster; do
  check "the $m section says no runs" [ "$(section "### $m" | grep -v '^$' | head -1)" = "No runs." ]
done
# The overhead row, computed here by sqlite3 from the two stored results.
read -r ADD50 ADD99 TP <<< "$(sql "$DB" "select printf('%.17g %.17g %.17g', c.p50_us - s.p50_us,
    c.p99_us - s.p99_us, (c.ops_per_sec / s.ops_per_sec - 1) * 100)
    from results c, results s where c.run_id = '$C' and s.run_id = '$S'")"
ROW=$(awk -v a="$ADD50" -v b="$ADD99" -v t="$TP" 'BEGIN { printf "| %+.1f%% | %+.1f | %+.1f |", t, a, b }')
echo "# expected overhead cells: $ROW"
check "the overhead row of client-server has sqlite3's numbers" \
  sh -c "grep '^| get c=2 p=1 v=64 d=100 | client-server fra→local | ' '$TMP/R.md' | grep -qF -- '$ROW'"
check "the overhead is the delay proxy's: added p50 > 0" awk -v a="$ADD50" 'BEGIN { exit !(a > 0) }'
check "the persistence figures: aof-always kept every write" \
  grep -qE '^\| aof-always \| [0-9]+ \| [0-9]+ \| 1\.0000 \| [0-9.]+ \| [0-9.]+ \| ok \|$' "$TMP/R.md"
check "the chaos figures: a latency row and a reset row" \
  sh -c "grep -q '^| 1 | latency +30 ms | ' '$TMP/R.md' && grep -qE '^\| 2 \| reset \| [0-9]+ \| [0-9.]+ ' '$TMP/R.md'"
lag_none() { section '## Replication lag (cluster)' | grep -q '^| no runs |'; }
check "no replication lag measured: the lag table says no runs" lag_none
escaped() { grep -qF '| p\|x | ' "$TMP/R.md" && ! grep -qF 'p|x' "$TMP/R.md"; }
check "a '|' inside a name is escaped in the table cell" escaped
check "the cost table has a row per deployment's get, '–' without a price" \
  grep -q '^| get c=2 p=1 v=64 d=100 | single local→local | local | [0-9]* | – |$' "$TMP/R.md"
"$RB" report --db "$DB" -o - > "$TMP/R2.md" 2> /dev/null
same_report() { diff <(grep -v '^Generated' "$TMP/R.md") <(grep -v '^Generated' "$TMP/R2.md") > /dev/null; }
check "-o - writes the same report to stdout" same_report
"$RB" report --db "$TMP/nope/none.db" -o "$TMP/R3.md" 2> "$TMP/r3.err"
check "an unreadable warehouse exits 2 with a reason and writes nothing" \
  sh -c "[ $? = 2 ] && [ ! -e '$TMP/R3.md' ] && [ -s '$TMP/r3.err' ]"
"$RB" report --db "$DB" --branch nothing-here -o "$TMP/R4.md" 2> /dev/null
check "an empty branch: every mode says no runs" [ "$(grep -c '^No runs\.$' "$TMP/R4.md")" = 7 ]

check "collector stops cleanly on SIGTERM" stop_collector
finish
