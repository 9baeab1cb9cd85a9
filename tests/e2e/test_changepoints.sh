#!/bin/bash
# End to end: `redbench analyze changepoints` on the fixture series
# (tests/fixtures/changepoints/: CSV and JSON, standard input, the three output
# formats, bad input answered with exit 2 naming the line), and the collector
# marking change points in the warehouse on ingest (runs imported from
# redis-benchmark-style CSV files with a known 20% drop).
. "$(dirname "$0")/lib.sh"
ROOT=${RB_ROOT:?}
FIX="$ROOT/tests/fixtures/changepoints"
cp_() { "$RB" analyze changepoints "$@"; }

# Every fixture: the indices printed equal NAME.expected.
bad_fix=""
n_fix=0
for f in "$FIX"/*.csv "$FIX"/*.json; do
  exp="${f%.*}.expected"
  n_fix=$((n_fix + 1))
  if ! cp_ --input "$f" > "$TMP/got" 2> "$TMP/err" || ! diff -q "$exp" "$TMP/got" > /dev/null; then
    bad_fix="$bad_fix $(basename "$f")"
    echo "# $(basename "$f"): got [$(tr '\n' ' ' < "$TMP/got")] want [$(tr '\n' ' ' < "$exp")] $(cat "$TMP/err")"
  fi
done
check "all $n_fix fixtures give their expected indices" [ -z "$bad_fix" -a "$n_fix" -ge 10 ]

check "standard input with --input -" \
  [ "$(cp_ --input - < "$FIX/one_step.csv")" = 30 ]
check "a JSON array with nulls on standard input" \
  [ "$(printf '[1, 1, 1, null, 1, 5, 5, 5, 5]' | cp_ --input - | tr '\n' ' ')" = "5 " ]

cp_ --input "$FIX/two_steps.csv" --format json > "$TMP/two.json"
check "--format json: exit 0 and two change points" \
  [ "$(jget "$TMP/two.json" '$.change_points[#-1].index')" = 60 -a \
    "$(sqlite3 :memory: "select json_array_length(readfile('$TMP/two.json'), '\$.change_points')")" = 2 ]
check "--format json: means, change and p-value" \
  [ "$(sqlite3 :memory: "with t(d) as (select readfile('$TMP/two.json'))
        select json_extract(d, '\$.change_points[0].index') = 30
           and abs(json_extract(d, '\$.change_points[0].mean_before') - 50) < 1
           and abs(json_extract(d, '\$.change_points[0].mean_after') - 60) < 1.2
           and json_extract(d, '\$.change_points[0].change') between 0.17 and 0.23
           and json_extract(d, '\$.change_points[0].p_value') < 1e-6 from t")" = 1 ]
cp_ --input "$FIX/no_step.csv" --format json > "$TMP/none.json"
check "--format json with no change point: an empty list" \
  [ "$(sqlite3 :memory: "select json_array_length(readfile('$TMP/none.json'), '\$.change_points')")" = 0 ]
cp_ --input "$FIX/one_step.csv" --format table > "$TMP/table.out"
check "--format table: header, row and summary" \
  sh -c "grep -q '^index ' '$TMP/table.out' && grep -q '^30 .*-10' '$TMP/table.out' && grep -q '1 change point in 60 values' '$TMP/table.out'"

cp_ --input "$FIX/two_steps.csv" --permutations 199 --format json > "$TMP/perm1"
cp_ --input "$FIX/two_steps.csv" --permutations 199 --format json > "$TMP/perm2"
same=$(cmp -s "$TMP/perm1" "$TMP/perm2" && echo same)
check "--permutations: the same steps, the same answer twice" \
  [ "$(jget "$TMP/perm1" '$.change_points[0].index') $(jget "$TMP/perm1" '$.change_points[1].index') $(jget "$TMP/perm1" '$.test') $same" = "30 60 permutation same" ]
check "Otava-like options (--no-correction --alpha 0.001 --window 50 --min-segment 1)" \
  [ "$(cp_ --input "$FIX/two_steps.csv" --no-correction --alpha 0.001 --window 50 --min-segment 1 | tr '\n' ' ')" = "30 60 " ]
check "--min-change drops a change below it" \
  [ -z "$(cp_ --input "$FIX/one_step.csv" --min-change 0.2)" ]

# Bad input and options: exit 2, a message naming the line.
printf 'ops\n1\n2\nfast\n3\n' > "$TMP/bad.csv"
cp_ --input "$TMP/bad.csv" > /dev/null 2> "$TMP/bad.err"; rc=$?
check "a word among numbers: exit 2 naming line 4" sh -c "[ $rc = 2 ] && grep -q 'line 4' '$TMP/bad.err' && grep -q fast '$TMP/bad.err'"
printf '1\n2,3\n' | cp_ --input - > /dev/null 2> "$TMP/bad.err"; rc=$?
check "two columns: exit 2 naming line 2" sh -c "[ $rc = 2 ] && grep -q 'line 2: want one column' '$TMP/bad.err'"
printf '[1,\n2,\n]\n' | cp_ --input - > /dev/null 2> "$TMP/bad.err"; rc=$?
check "malformed JSON: exit 2 naming the line" sh -c "[ $rc = 2 ] && grep -q 'line 3: malformed JSON' '$TMP/bad.err'"
printf '[1, "x"]' | cp_ --input - > /dev/null 2> "$TMP/bad.err"; rc=$?
check "a string in the JSON array: exit 2 naming the element" sh -c "[ $rc = 2 ] && grep -q 'element 1' '$TMP/bad.err'"
cp_ --input "$TMP/nope.csv" > /dev/null 2> "$TMP/bad.err"; rc=$?
check "a missing file: exit 2 naming it" sh -c "[ $rc = 2 ] && grep -q 'nope.csv' '$TMP/bad.err'"
cp_ > /dev/null 2>&1; rc1=$?
cp_ --input "$FIX/one_step.csv" --alpha 2 > /dev/null 2>&1; rc2=$?
cp_ --input "$FIX/one_step.csv" --permutations 10 --alpha 0.01 > /dev/null 2>&1; rc3=$?
cp_ --input "$FIX/one_step.csv" --format xml > /dev/null 2>&1; rc4=$?
check "no --input, bad alpha, unreachable alpha, bad format: exit 2" [ "$rc1$rc2$rc3$rc4" = 2222 ]
check "--help: exit 0 with usage" sh -c "'$RB' analyze changepoints --help | grep -q 'usage: redbench analyze changepoints'"

# The collector marks change points on ingest: 12 imported runs of one cell,
# 3 iterations each, ops/s 20% lower from the 8th run on.
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }
imp_ok=1
for i in $(seq 1 12); do
  for it in 1 2 3; do
    rps=$(( (i < 8 ? 100000 : 80000) + (i * 37 + it * 211) % 1500 ))
    f="$TMP/rb-$i-$it.csv"
    printf '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n"GET","%d.00","0.100","0.020","0.095","0.150","0.200","0.900"\n' "$rps" > "$f"
    touch -d "2024-03-01 10:$(printf %02d "$i"):0$it" "$f"
  done
  "$RB" import --format redis-benchmark --run-id "cp-run-$i" --commit "sha$i" --project cp --quiet \
    --collector "$URL" "$TMP/rb-$i-1.csv" "$TMP/rb-$i-2.csv" "$TMP/rb-$i-3.csv" > /dev/null 2> "$TMP/imp.err" || imp_ok=0
done
check "12 runs imported into the collector" sh -c "[ $imp_ok = 1 ] && [ \"\$(sqlite3 '$DB' 'select count(*) from runs')\" = 12 ]"
check "the change point of ops/s is at the 8th run, with its commit" \
  [ "$(sql "$DB" "select run_id || ' ' || commit_sha || ' ' || runs_before || ' ' || runs_after from change_points where project = 'cp' and branch = 'main' and metric = 'ops_per_sec'")" = "cp-run-8 sha8 7 5" ]
check "the stored change is about -20% and significant" \
  [ "$(sql "$DB" "select change between -0.22 and -0.18 and p_value < 0.001 and mean_before > mean_after from change_points where metric = 'ops_per_sec'")" = 1 ]
check "no change point on the unchanged latencies" \
  [ "$(sql "$DB" "select count(*) from change_points where metric <> 'ops_per_sec'")" = 0 ]
check "collector stops cleanly on SIGTERM" stop_collector
finish
