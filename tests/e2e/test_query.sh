#!/bin/bash
# Ad-hoc SQL end to end: a warehouse filled by real runs on two branches; every
# ```sql block of docs/queries.md runs through `redbench query --db` and through
# POST /api/v1/query; writes, ATTACH, PRAGMA, load_extension, multiple
# statements and runaway queries are refused or stopped; the warehouse is unchanged.
. "$(dirname "$0")/lib.sh"
DOCS="$(dirname "$0")/../../docs/queries.md"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

runs_ok=1
for b in main main main feature feature; do
  "$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 2 --pipeline 1,4 \
    --requests 500 --iterations 3 --warmup 50 --dataset-size 100 --branch "$b" --commit "c-$b-$RANDOM" \
    --quiet --collector "$URL" > "$TMP/run.out" 2> "$TMP/run.err" || { runs_ok=0; cat "$TMP/run.err" >&2; }
done
check "five runs on two branches upload" [ $runs_ok = 1 ]
check "warehouse holds 5 runs" [ "$(sql "$DB" 'select count(*) from runs')" = 5 ]

state() {
  sql "$DB" "select (select count(*) from runs)||'/'||(select count(*) from results)||'/'||
    (select count(*) from samples)||'/'||(select count(*) from verdicts)||'/'||
    (select count(*) from sqlite_schema)||'/'||(select group_concat(md5, '') from
    (select length(coalesce(sql, ''))||name as md5 from sqlite_schema order by name))"
}
BEFORE=$(state)

# api SQL [FORMAT]: POSTs SQL as text/plain with the token; prints the status,
# leaves the body in $TMP/q.body and the headers in $TMP/q.hdr.
api() {
  curl -s -m 20 -D "$TMP/q.hdr" -o "$TMP/q.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
    -H 'Content-Type: text/plain' --data-binary "$1" "$URL/api/v1/query?format=${2:-json}"
}
json_ok() { [ "$(sqlite3 :memory: "select json_valid(readfile('$1')) and json_type(readfile('$1'), '\$.columns') = 'array'")" = 1 ]; }

# Views hold what the runs put there.
check "series view: 4 series measured 5 times each" \
  [ "$("$RB" query --db "$DB" --format csv 'SELECT count(*) FROM series WHERE runs = 5' | tail -1 | tr -d '\r')" = 4 ]
check "run_summary: 3 runs on main, 2 on feature" \
  [ "$("$RB" query --db "$DB" --format csv "SELECT group_concat(n, '-') FROM (SELECT branch, count(*) n FROM run_summary GROUP BY branch ORDER BY branch)" | tail -1 | tr -d '\r')" = "2-3" ]
check "result_latest: one row per series and branch" \
  [ "$("$RB" query --db "$DB" --format csv 'SELECT count(*) FROM result_latest' | tail -1 | tr -d '\r')" = 8 ]

# Every documented query, both ways.
mkdir -p "$TMP/q"
awk -v dir="$TMP/q" '/^```sql[ \t]*$/ { n++; f = sprintf("%s/%02d.sql", dir, n); inb = 1; next }
  /^```/ { inb = 0; next } inb { print > f }' "$DOCS"
nq=$(ls "$TMP/q" | wc -l)
check "docs/queries.md holds at least a dozen sql blocks ($nq)" [ "$nq" -ge 12 ]
for f in "$TMP"/q/*.sql; do
  n=$(basename "$f" .sql)
  title=$(head -1 "$f" | cut -c1-50)
  "$RB" query --db "$DB" "$(cat "$f")" > "$TMP/cli.out" 2> "$TMP/cli.err"
  rc=$?
  check "docs query $n via CLI table ($title)" sh -c "[ $rc = 0 ] && [ ! -s '$TMP/cli.err' ] && grep -q '^(' '$TMP/cli.out'"
  [ $rc = 0 ] || cat "$TMP/cli.err" >&2
  "$RB" query --db "$DB" --format json "$(cat "$f")" > "$TMP/cli.json" 2> "$TMP/cli.err"
  rc=$?
  check "docs query $n via CLI json is valid JSON" sh -c "[ $rc = 0 ] && $(declare -f json_ok); json_ok '$TMP/cli.json'"
  code=$(api "$(cat "$f")")
  check "docs query $n via API: 200 and valid JSON" sh -c "[ '$code' = 200 ] && $(declare -f json_ok); json_ok '$TMP/q.body'"
  [ "$code" = 200 ] || cat "$TMP/q.body" >&2
done
rows=$("$RB" query --db "$DB" --format csv "$(cat "$TMP/q/01.sql")" | wc -l)
check "the series query returns 4 series (+ header)" [ "$rows" = 5 ]

# The API's other ways in.
code=$(curl -s -m 10 -o "$TMP/q.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
  -H 'Content-Type: application/json' -d '{"sql": "SELECT count(*) AS n FROM runs", "format": "csv"}' "$URL/api/v1/query")
check "JSON body with format csv" sh -c "[ '$code' = 200 ] && [ \"\$(tr -d '\r' < '$TMP/q.body' | tr '\n' ' ')\" = 'n 5 ' ]"
code=$(api "SELECT count(*) FROM runs" csv)
check "text/plain body with ?format=csv" sh -c "[ '$code' = 200 ] && grep -q '^5' '$TMP/q.body'"
check "CSV answer has a CSV content type" grep -qi '^content-type: text/csv' "$TMP/q.hdr"
"$RB" query --collector "$URL" --format csv "SELECT count(*) AS n FROM run_summary WHERE branch = 'feature'" > "$TMP/cli.out" 2>&1
rc=$?
check "redbench query --collector" sh -c "[ $rc = 0 ] && tr -d '\r' < '$TMP/cli.out' | grep -qx 2"
"$RB" query --collector "$URL" "SELECT branch, count(*) AS runs FROM runs GROUP BY branch ORDER BY branch" > "$TMP/cli.out" 2>&1
check "redbench query --collector, table format" sh -c "grep -q '^feature *2$' '$TMP/cli.out' && grep -q '^(2 rows)$' '$TMP/cli.out'"

# Auth.
code=$(curl -s -m 10 -o "$TMP/q.body" -w '%{http_code}' --data-binary 'SELECT 1' "$URL/api/v1/query")
check "no token: 401" [ "$code" = 401 ]
code=$(curl -s -m 10 -o "$TMP/q.body" -w '%{http_code}' -H 'Authorization: Bearer wrong-token-wrong-token' \
  --data-binary 'SELECT 1' "$URL/api/v1/query")
check "wrong token: 401" [ "$code" = 401 ]
REDBENCH_TOKEN= "$RB" query --collector "$URL" "SELECT 1" > /dev/null 2> "$TMP/cli.err"
rc=$?
check "redbench query --collector without a token: exit 2 naming 401" sh -c "[ $rc = 2 ] && grep -q 'answered 401' '$TMP/cli.err'"

# Refusals: API 400 with a reason, CLI exit 2 with the same reason.
refuse() { # NAME SQL PATTERN
  code=$(api "$2")
  check "API refuses $1 (400)" sh -c "[ '$code' = 400 ] && grep -q '$3' '$TMP/q.body'"
  [ "$code" = 400 ] || cat "$TMP/q.body" >&2
  "$RB" query --db "$DB" "$2" > "$TMP/cli.out" 2> "$TMP/cli.err"
  rc=$?
  check "CLI --db refuses $1 (exit 2)" sh -c "[ $rc = 2 ] && [ ! -s '$TMP/cli.out' ] && grep -q '$3' '$TMP/cli.err'"
}
refuse INSERT "INSERT INTO runs(id, project, branch, mode, started_at, ended_at, document, ingested_at) VALUES ('x','p','b','single','t','t','{}','t')" 'refused: INSERT runs'
refuse UPDATE "UPDATE runs SET branch = 'hacked'" 'refused: UPDATE runs'
refuse DELETE "DELETE FROM results" 'refused: DELETE results'
refuse DROP "DROP TABLE samples" 'refused'
refuse "DROP VIEW" "DROP VIEW series" 'refused'
refuse CREATE "CREATE TABLE t(x)" 'refused'
refuse "CREATE TEMP" "CREATE TEMP TABLE t AS SELECT * FROM runs" 'refused'
refuse ATTACH "ATTACH DATABASE '$TMP/other.db' AS o" 'refused: ATTACH'
refuse "PRAGMA writable_schema" "PRAGMA writable_schema = ON" 'refused: PRAGMA writable_schema'
refuse "PRAGMA journal_mode" "PRAGMA journal_mode = DELETE" 'refused: PRAGMA journal_mode'
refuse load_extension "SELECT load_extension('$TMP/evil.so')" 'refused: function load_extension'
refuse "two statements" "SELECT 1; DELETE FROM runs" 'only one SQL statement'
refuse "two selects" "SELECT 1; SELECT 2" 'only one SQL statement'
refuse BEGIN "BEGIN IMMEDIATE" 'refused'
refuse "VACUUM INTO" "VACUUM INTO '$TMP/copy.db'" 'refused'
check "ATTACH and VACUUM INTO created no file" sh -c "[ ! -e '$TMP/other.db' ] && [ ! -e '$TMP/copy.db' ]"
code=$(api "SELECT * FROM no_such_table")
check "SQL error: 400 with SQLite's message" sh -c "[ '$code' = 400 ] && grep -q 'no such table: no_such_table' '$TMP/q.body'"

# Limits.
RUNAWAY='WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c'
t0=$(date +%s%N); code=$(api "$RUNAWAY"); t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "# runaway query answered $code after $ms ms: $(cat "$TMP/q.body")"
check "runaway recursive CTE via API: 408 with the time limit" sh -c "[ '$code' = 408 ] && grep -q 'time limit of 2000 ms reached' '$TMP/q.body'"
check "runaway recursive CTE stopped within 3 s ($ms ms)" [ "$ms" -ge 1500 ] && [ "$ms" -lt 3000 ]
t0=$(date +%s%N); "$RB" query --db "$DB" "$RUNAWAY" > /dev/null 2> "$TMP/cli.err"; rc=$?; t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "runaway recursive CTE via CLI: exit 2, time limit, within 3 s ($ms ms)" \
  sh -c "[ $rc = 2 ] && grep -q 'time limit' '$TMP/cli.err' && [ $ms -lt 3000 ]"
check "collector still answers after the runaway query" sh -c "curl -sf -m 5 '$URL/healthz' | grep -q ok"

MANY='WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 25000) SELECT x FROM c'
code=$(api "$MANY")
check "row cap: 200, 10000 rows, truncated" sh -c "[ '$code' = 200 ] && grep -q '\"truncated\":true' '$TMP/q.body' && grep -qi '^x-redbench-rows: 10000' '$TMP/q.hdr' && grep -qi '^x-redbench-truncated: true' '$TMP/q.hdr' && [ \"\$(sqlite3 :memory: \"select json_array_length(readfile('$TMP/q.body'), '\\\$.rows')\")\" = 10000 ]"
code=$(api "$MANY" csv)
check "row cap in CSV: header + 10000 lines" sh -c "[ '$code' = 200 ] && [ \$(wc -l < '$TMP/q.body') = 10001 ]"
"$RB" query --db "$DB" "$MANY" > "$TMP/cli.out" 2>&1
rc=$?
check "row cap via CLI table: exit 0, says truncated" sh -c "[ $rc = 0 ] && grep -q '^(10000 rows; truncated' '$TMP/cli.out'"
code=$(api "SELECT randomblob(5000000)")
check "huge value refused by the length limit (400)" sh -c "[ '$code' = 400 ] && grep -q 'too big' '$TMP/q.body'"

# Nothing changed.
AFTER=$(state)
check "warehouse unchanged by the query endpoint" [ "$BEFORE" = "$AFTER" ]
check "collector stops cleanly on SIGTERM" stop_collector
check "no branch was rewritten" [ "$(sql "$DB" "select count(*) from runs where branch = 'hacked'")" = 0 ]
check "PRAGMA integrity_check is ok" [ "$(sql "$DB" 'PRAGMA integrity_check')" = ok ]
finish
