#!/bin/bash
# End to end: real redis-benchmark output, produced here against a real
# redis-server, imported with `redbench import`: values survive exactly, the
# run lands in a real collector's warehouse under series of its own
# (source=redis-benchmark), importing again is idempotent, and
# `redbench analyze` judges it.
. "$(dirname "$0")/lib.sh"

command -v redis-benchmark >/dev/null || { notok "redis-benchmark is installed (redis-tools)"; finish; }
start_redis || { notok "redis-server starts"; finish; }

# rjson FILE OP PATH: PATH inside the result whose op is OP.
rjson() {
  sqlite3 :memory: "select json_extract(value, '$3') from json_each(cast(readfile('$1') as text), '\$.results')
                    where json_extract(value, '\$.op') = '$2'"
}
# rcount FILE OP PATH: the length of the array at PATH inside the result whose op is OP.
rcount() {
  sqlite3 :memory: "select json_array_length(value, '$3') from json_each(cast(readfile('$1') as text), '\$.results')
                    where json_extract(value, '\$.op') = '$2'"
}
# csvcol FILE TEST N: column N (1-based) of TEST's row in a redis-benchmark CSV.
csvcol() { awk -F'","' -v t="\"$2" -v n="$3" '$1 == t { gsub(/"/, "", $n); print $n }' "$1"; }

bench_ok=1
for i in 1 2; do
  redis-benchmark -p "$REDIS_PORT" -t set,get -n 2000 -c 10 -P 1 --csv > "$TMP/f$i.csv" 2> /dev/null || bench_ok=0
done
check "redis-benchmark wrote two CSV files" sh -c "[ $bench_ok = 1 ] && grep -q '^\"SET\",' '$TMP/f1.csv' && grep -q '^\"GET\",' '$TMP/f2.csv'"

"$RB" import --format redis-benchmark --concurrency 10 --requests 2000 "$TMP/f1.csv" "$TMP/f2.csv" \
  --out "$TMP/x.json" > "$TMP/imp.out" 2> "$TMP/imp.err"
rc=$?
check "import exits 0" [ $rc = 0 ]
check "import prints a table with both operations" sh -c "grep -q '^set ' '$TMP/imp.out' && grep -q '^get ' '$TMP/imp.out'"
check "the run has 2 results" \
  [ "$(sqlite3 :memory: "select json_array_length(cast(readfile('$TMP/x.json') as text), '\$.results')")" = 2 ]
check "runner version names the tool" [ "$(jget "$TMP/x.json" '$.runner.version')" = "import:redis-benchmark" ]
for op in set get; do
  T=$(echo $op | tr a-z A-Z)
  check "$op: 2 samples" [ "$(rcount "$TMP/x.json" $op '$.samples')" = 2 ]
  check "$op: concurrency 10, source param" sh -c "[ '$(rjson "$TMP/x.json" $op '$.concurrency')' = 10 ] && [ '$(rjson "$TMP/x.json" $op '$.params.source')' = redis-benchmark ]"
  check "$op: 2 x 2000 requests" [ "$(rjson "$TMP/x.json" $op '$.requests')" = 4000 ]
  for k in 0 1; do
    f="$TMP/f$((k + 1)).csv"
    want_rps=$(csvcol "$f" "$T" 2); want_p99=$(csvcol "$f" "$T" 7)
    got_rps=$(rjson "$TMP/x.json" $op "\$.samples[$k].ops_per_sec")
    got_p99=$(rjson "$TMP/x.json" $op "\$.samples[$k].p99_us")
    check "$op sample $k: ops/s $got_rps equals the CSV's $want_rps" \
      [ "$(printf '%.2f' "${got_rps:-0}")" = "${want_rps:-missing}" ]
    check "$op sample $k: p99 $got_p99 µs = 1000 x $want_p99 ms" \
      awk -v a="$got_p99" -v b="$want_p99" 'BEGIN { d = a - 1000 * b; exit !(b != "" && d < 1e-6 && d > -1e-6) }'
  done
done

# Malformed input: exit 2, the message names the file and the line.
cp "$TMP/f1.csv" "$TMP/bad.csv"; echo '"GET","fast","0.1","0.1","0.1","0.1","0.1","0.1"' >> "$TMP/bad.csv"
"$RB" import --format redis-benchmark "$TMP/bad.csv" --out "$TMP/bad.json" > /dev/null 2> "$TMP/bad.err"
rc=$?
check "malformed CSV: exit 2 naming file and line" sh -c "[ $rc = 2 ] && grep -q 'bad.csv:4: rps: .fast. is not a non-negative number' '$TMP/bad.err' && [ ! -e '$TMP/bad.json' ]"
"$RB" import --format memtier "$TMP/f1.csv" > /dev/null 2> "$TMP/bad2.err"
rc=$?
check "CSV given as memtier JSON: exit 2" sh -c "[ $rc = 2 ] && grep -q 'f1.csv:1: malformed JSON' '$TMP/bad2.err'"

# Into the warehouse, beside a native run of the same cells.
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }
"$RB" import --format redis-benchmark --concurrency 10 --requests 2000 --commit imp1 \
  --collector "$URL" "$TMP/f1.csv" "$TMP/f2.csv" --out "$TMP/up.json" > "$TMP/up.out" 2> "$TMP/up.err"
rc=$?
check "import with --collector exits 0 and reports the upload" sh -c "[ $rc = 0 ] && grep -q 'uploaded run' '$TMP/up.out'"
RID=$(jget "$TMP/up.json" '$.run_id')
check "warehouse holds the imported run" [ "$(sql "$DB" "select count(*) from runs where id = '$RID' and commit_sha = 'imp1'")" = 1 ]
check "its 2 results have the source param in their series keys" \
  [ "$(sql "$DB" "select count(*) from results where run_id = '$RID' and series_key like '% source=redis-benchmark'")" = 2 ]
check "its 4 samples are stored" \
  [ "$(sql "$DB" "select count(*) from samples s join results r on r.id = s.result_id where r.run_id = '$RID'")" = 4 ]
P99_SET=$(rjson "$TMP/up.json" set '$.latency_us.p99')
check "the warehouse keeps the imported p99 (no histogram)" \
  [ "$(sql "$DB" "select p99_us = $P99_SET and latency_hist = 'h1:AAA=' from results where run_id = '$RID' and op = 'set'")" = 1 ]

"$RB" import --format redis-benchmark --concurrency 10 --requests 2000 --commit imp1 \
  --collector "$URL" "$TMP/f1.csv" "$TMP/f2.csv" > "$TMP/again.out" 2>&1
rc=$?
check "importing the same files again is idempotent (already present)" \
  sh -c "[ $rc = 0 ] && grep -q already_present '$TMP/again.out' && [ \"\$(sqlite3 '$DB' 'select count(*) from runs')\" = 1 ]"

"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 10 --pipeline 1 \
  --value-size 3 --dataset-size 1 --requests 500 --iterations 2 --warmup 0 --quiet \
  --collector "$URL" > /dev/null 2> "$TMP/native.err"
check "a native run of the same cells uploads" [ $? = 0 ]
check "native and imported series never mix (4 distinct series)" \
  [ "$(sql "$DB" "select count(distinct series_key) from results")" = 4 ]

# The first imported run has no baseline: analyze says so (exit 3).
"$RB" analyze --run "$RID" --db "$DB" > "$TMP/an.out" 2> "$TMP/an.err"
rc=$?
check "redbench analyze judges the imported run: no baseline yet (exit 3)" [ $rc = 3 ]
"$RB" analyze --run "$RID" --collector "$URL" --format json --insufficient pass > "$TMP/an.json" 2> "$TMP/an2.err"
rc=$?
check "analyze through the collector works too (exit 0 with --insufficient pass)" sh -c "[ $rc = 0 ] && grep -q 'source=redis-benchmark' '$TMP/an.json'"

# Two more imported runs: the last is judged against the first two, the
# baseline the analyzer finds within the imported series (exit 0 or 1: the
# verdict itself depends on this machine's noise).
for i in 3 4 5 6; do
  redis-benchmark -p "$REDIS_PORT" -t set,get -n 2000 -c 10 -P 1 --csv > "$TMP/f$i.csv" 2> /dev/null
done
"$RB" import --format redis-benchmark --concurrency 10 --requests 2000 --commit imp2 --quiet \
  --collector "$URL" "$TMP/f3.csv" "$TMP/f4.csv" > /dev/null 2>&1
"$RB" import --format redis-benchmark --concurrency 10 --requests 2000 --commit imp3 --quiet \
  --collector "$URL" "$TMP/f5.csv" "$TMP/f6.csv" --out "$TMP/imp3.json" > /dev/null 2>&1
RID3=$(jget "$TMP/imp3.json" '$.run_id')
"$RB" analyze --run "$RID3" --db "$DB" --threshold 0.5 --format json > "$TMP/an3.json" 2> "$TMP/an3.err"
rc=$?
judged=$(sqlite3 :memory: "select count(*) from json_each(cast(readfile('$TMP/an3.json') as text), '\$.verdicts')
  where json_extract(value, '\$.status') in ('pass', 'regression', 'improvement')
    and json_extract(value, '\$.baseline_runs') = 2")
check "analyze judges an imported run against 2 imported baseline runs (6 verdicts, exit $rc)" \
  [ "$rc" -le 1 -a "$judged" = 6 ]

check "collector stops cleanly on SIGTERM" stop_collector
finish
