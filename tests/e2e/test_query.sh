#!/bin/bash
# Ad-hoc SQL end to end: a warehouse filled by real runs on two branches; every
# ```sql block of docs/queries.md runs through `redbench query --db` and through
# POST /api/v1/query; writes, ATTACH, PRAGMA, load_extension, multiple
# statements and runaway queries are refused or stopped; the warehouse is
# unchanged. The pool of query connections: one connection still answers right
# after a stopped query and a refused write, 16 parallel queries all answer
# right, and a busy pool answers 503 with Retry-After after its wait.
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
# Its limit is 2 s; 6 s leaves room for a loaded machine and still tells a stopped query.
check "runaway recursive CTE stopped within 6 s ($ms ms)" sh -c "[ $ms -ge 1500 ] && [ $ms -lt 6000 ]"
t0=$(date +%s%N); "$RB" query --db "$DB" "$RUNAWAY" > /dev/null 2> "$TMP/cli.err"; rc=$?; t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "runaway recursive CTE via CLI: exit 2, time limit, within 6 s ($ms ms)" \
  sh -c "[ $rc = 2 ] && grep -q 'time limit' '$TMP/cli.err' && [ $ms -lt 6000 ]"
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

check "collector stops cleanly on SIGTERM" stop_collector
check "warehouse unchanged by the query endpoint (first collector)" [ "$BEFORE" = "$(state)" ]

# The pool, one connection: it is reused by every query, so each answer after
# a stopped or refused query comes from the connection that ran it.
start_collector "$DB" --query-conns 1 --query-wait-ms 300 || { notok "collector with one query connection starts"; finish; }
GOOD="SELECT branch, count(*) AS n FROM runs GROUP BY branch ORDER BY branch"
sqlite3 -csv "$DB" "$GOOD" | tr -d '\r' > "$TMP/good.want"
good_ok() { code=$(api "$GOOD" csv); [ "$code" = 200 ] && tail -n +2 "$TMP/q.body" | tr -d '\r' | cmp -s - "$TMP/good.want"; }
check "pool of 1: a good query answers right" good_ok
code=$(curl -s -m 20 -o "$TMP/q.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
  -H 'Content-Type: application/json' -d "{\"sql\": \"$RUNAWAY\", \"timeout_ms\": 300}" "$URL/api/v1/query")
check "pool of 1: a runaway query is stopped (408)" sh -c "[ '$code' = 408 ] && grep -q 'time limit of 300 ms' '$TMP/q.body'"
check "pool of 1: after the stopped query, a good query answers right" good_ok
code=$(api "DELETE FROM runs")
check "pool of 1: a write is refused (400)" sh -c "[ '$code' = 400 ] && grep -q 'refused: DELETE runs' '$TMP/q.body'"
check "pool of 1: after the refused write, a good query answers right" good_ok
code=$(api "BEGIN")
check "pool of 1: BEGIN is refused" [ "$code" = 400 ]
code=$(api "SELECT * FROM no_such_table")
check "pool of 1: an SQL error (400)" [ "$code" = 400 ]
check "pool of 1: after BEGIN and an error, a good query answers right" good_ok
code=$(api "$MANY")
check "pool of 1: a query cut by the row cap" sh -c "[ '$code' = 200 ] && grep -qi '^x-redbench-truncated: true' '$TMP/q.hdr'"
check "pool of 1: after the cut query, a good query answers right" good_ok

# Exhaustion: the one connection busy with a runaway query (2 s): another
# query waits its 300 ms and gets 503 with Retry-After while the runaway runs.
curl -s -m 20 -o "$TMP/slow.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
  -H 'Content-Type: text/plain' --data-binary "$RUNAWAY" "$URL/api/v1/query" > "$TMP/slow.code" &
SLOW=$!
busy=""
for i in $(seq 1 40); do # bounded: until the runaway holds the connection
  code=$(curl -s -m 10 -D "$TMP/b.hdr" -o "$TMP/b.body" -w '%{http_code} %{time_total}' \
    -H "Authorization: Bearer $REDBENCH_TOKEN" --data-binary "SELECT 1" "$URL/api/v1/query")
  case $code in 503*) kill -0 $SLOW 2>/dev/null && busy=$code; break;; esac
  sleep 0.05
done
echo "# busy answer: $busy"
check "busy pool: 503 while the runaway query still runs" [ -n "$busy" ]
check "busy pool: Retry-After and the reason" sh -c "grep -qi '^retry-after: 1' '$TMP/b.hdr' && grep -q 'all 1 query connections stayed busy for 300 ms' '$TMP/b.body'"
check "busy pool: the 503 came after the wait, not after the query ($busy s)" \
  awk -v t="${busy#* }" 'BEGIN { exit !(t >= 0.29 && t < 1.9) }'
wait $SLOW
check "busy pool: the runaway query itself ended with 408" [ "$(cat "$TMP/slow.code")" = 408 ]
check "busy pool: afterwards a good query answers right" good_ok

# The connection's answer cache: the same query again is kept; an ingest
# (a commit by the collector's writer) makes the next answer fresh.
good_ok
check "a repeated query is answered from the cache" grep -qi '^x-redbench-cached: true' "$TMP/q.hdr"
"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set --concurrency 2 --pipeline 1 \
  --requests 200 --iterations 2 --warmup 10 --dataset-size 100 --branch feature --commit "c-new-$RANDOM" \
  --quiet --collector "$URL" > "$TMP/run.out" 2> "$TMP/run.err"
analyzed "$DB" # no verdicts left to commit (and to refresh the cache) between the next queries
check "a sixth run uploads" [ "$(sql "$DB" 'select count(*) from runs')" = 6 ]
sqlite3 -csv "$DB" "$GOOD" | tr -d '\r' > "$TMP/good.want"
check "after the ingest the query answers the new data" good_ok
check "... and not from the cache" grep -qi '^x-redbench-cached: false' "$TMP/q.hdr"
good_ok
check "... then it is kept again" grep -qi '^x-redbench-cached: true' "$TMP/q.hdr"
api "SELECT random() AS r" > /dev/null; code=$(api "SELECT random() AS r")
check "a query calling random() is never kept" sh -c "[ '$code' = 200 ] && grep -qi '^x-redbench-cached: false' '$TMP/q.hdr'"
check "collector with one query connection stops cleanly" stop_collector
BEFORE6=$(state)

# Concurrency: 16 different queries in parallel on 3 connections, all right.
start_collector "$DB" --query-conns 3 --query-wait-ms 20000 || { notok "collector with three query connections starts"; finish; }
mkdir -p "$TMP/par"
for i in $(seq 1 16); do
  q="SELECT $i AS k, count(*) AS n, sum(length(branch)) AS l FROM runs WHERE rowid % 16 <> $i"
  printf 'k,n,l\n%s\n' "$(sqlite3 -csv "$DB" "$q")" > "$TMP/par/$i.want"
  curl -s -m 30 -o "$TMP/par/$i.body" -H "Authorization: Bearer $REDBENCH_TOKEN" -H 'Content-Type: text/plain' \
    --data-binary "$q" "$URL/api/v1/query?format=csv" &
  PAR="${PAR:-} $!"
done
for p in $PAR; do wait "$p"; done # only the curls (bounded by -m 30): the collector is a child too
right=0
for i in $(seq 1 16); do tr -d '\r' < "$TMP/par/$i.body" | cmp -s - "$TMP/par/$i.want" && right=$((right + 1)); done
check "16 parallel queries on 3 connections: all 16 answers right ($right)" [ "$right" = 16 ]
check "collector with three query connections stops cleanly" stop_collector

# Nothing changed but the sixth run's own rows.
AFTER=$(state)
check "warehouse unchanged by the query endpoint" [ "$BEFORE6" = "$AFTER" ]
check "no branch was rewritten" [ "$(sql "$DB" "select count(*) from runs where branch = 'hacked'")" = 0 ]
check "PRAGMA integrity_check is ok" [ "$(sql "$DB" 'PRAGMA integrity_check')" = ok ]
finish
