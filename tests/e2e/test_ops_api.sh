#!/bin/bash
# End to end: operations. GET /metrics answers Prometheus text whose counters
# move with uploads; `redbench backup` copies the warehouse while the collector
# runs and writes, into a file that passes integrity_check.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

# metric NAME_WITH_LABELS: its value in $TMP/m.txt ("" if absent).
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/m.txt"; }
scrape() { curl -s -m 5 -D "$TMP/m.hdr" -o "$TMP/m.txt" -w '%{http_code}' "$URL/metrics"; }

curl -s -m 5 -o /dev/null "$URL/healthz"
curl -s -m 5 -o /dev/null "$URL/no/such/path"
code=$(scrape)
check "GET /metrics: 200" [ "$code" = 200 ]
check "GET /metrics: text/plain (Prometheus 0.0.4)" grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/m.hdr"
for m in redbench_runs_ingested_total redbench_http_requests_total redbench_http_request_duration_seconds \
         redbench_db_size_bytes redbench_runs_total redbench_results_total process_resident_memory_bytes; do
  check "metrics: $m has HELP and TYPE" sh -c "grep -q '^# HELP $m ' '$TMP/m.txt' && grep -q '^# TYPE $m ' '$TMP/m.txt'"
done
check "metrics: no runs yet" [ "$(metric redbench_runs_ingested_total)/$(metric redbench_runs_total)" = 0/0 ]
check "metrics: /healthz counted with method, route and code" [ "$(metric 'redbench_http_requests_total{method="GET",route="/healthz",code="200"}')" = 1 ]
check "metrics: an unknown path counted as unmatched 404" [ "$(metric 'redbench_http_requests_total{method="",route="(unmatched)",code="404"}')" = 1 ]
pc=$(sqlite3 "$DB" "pragma page_count"); ps=$(sqlite3 "$DB" "pragma page_size")
check "metrics: db size = page_count * page_size" [ "$(metric redbench_db_size_bytes)" = $((pc * ps)) ]
check "metrics: RSS is plausible (1 MB..1 GB)" sh -c "[ $(metric process_resident_memory_bytes) -gt 1000000 ] && [ $(metric process_resident_memory_bytes) -lt 1000000000 ]"

for i in 1 2; do
  "$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 2 --requests 500 \
    --iterations 2 --warmup 50 --dataset-size 100 --quiet --collector "$URL" --out "$TMP/run$i.json" \
    > /dev/null 2>&1; check "run $i uploads" [ $? = 0 ]
done
r=$(post "$TMP/run1.json"); check "the same run again: 200" [ "${r%% *}" = 200 ]
r=$(post "$TMP/run1.json" ""); check "no token: 401" [ "${r%% *}" = 401 ]
scrape > /dev/null
check "metrics: 2 runs ingested (a repeat is not a new run)" [ "$(metric redbench_runs_ingested_total)" = 2 ]
check "metrics: runs_total and results_total follow the warehouse" \
  [ "$(metric redbench_runs_total)/$(metric redbench_results_total)" = "$(sql "$DB" 'select count(*) from runs')/$(sql "$DB" 'select count(*) from results')" ]
check "metrics: POST /api/v1/runs counted by code" sh -c \
  "[ '$(metric 'redbench_http_requests_total{method="POST",route="/api/v1/runs",code="201"}')' = 2 ] && [ '$(metric 'redbench_http_requests_total{method="POST",route="/api/v1/runs",code="200"}')' = 1 ] && [ '$(metric 'redbench_http_requests_total{method="POST",route="/api/v1/runs",code="401"}')' = 1 ]"
L='method="POST",route="/api/v1/runs"'
check "metrics: latency histogram count = requests of the route" [ "$(metric "redbench_http_request_duration_seconds_count{$L}")" = 4 ]
check "metrics: +Inf bucket = count" [ "$(metric "redbench_http_request_duration_seconds_bucket{$L,le=\"+Inf\"}")" = 4 ]
check "metrics: buckets are cumulative" sh -c "grep '^redbench_http_request_duration_seconds_bucket{$L' '$TMP/m.txt' | awk '\$2 < p { bad = 1 } { p = \$2 } END { exit bad }'"
check "metrics: latency sum is positive" awk -v s="$(metric "redbench_http_request_duration_seconds_sum{$L}")" 'BEGIN { exit !(s > 0) }'
check "metrics: scrapes are counted too" [ "$(metric 'redbench_http_requests_total{method="GET",route="/metrics",code="200"}')" = 1 ]

# Backup while the collector runs and others upload.
"$RB" backup "$TMP/b1.db" --db "$DB" > "$TMP/b1.out" 2>&1
check "backup of an idle collector's warehouse: exit 0" [ $? = 0 ]
check "backup: integrity_check ok" [ "$(sqlite3 "$TMP/b1.db" 'pragma integrity_check')" = ok ]
check "backup: same runs count as the source" [ "$(sqlite3 "$TMP/b1.db" 'select count(*) from runs')" = "$(sql "$DB" 'select count(*) from runs')" ]
check "backup: a self-contained file (journal_mode delete, no -wal, no .tmp)" sh -c \
  "[ \"\$(sqlite3 '$TMP/b1.db' 'pragma journal_mode')\" = delete ] && [ ! -e '$TMP/b1.db-wal' ] && [ ! -e '$TMP/b1.db.tmp' ]"
check "backup: the copy has the views (cost_per_op)" sh -c "sqlite3 '$TMP/b1.db' 'select count(*) from cost_per_op' > /dev/null"

for i in 3 4 5 6; do
  jedit "$TMP/run1.json" "json_set(d, '\$.run_id', 'concurrent-$i')" > "$TMP/c$i.json"
done
( for i in 3 4 5 6; do post "$TMP/c$i.json" > /dev/null; done ) &
UP=$!
ok_all=1
for k in 1 2 3; do
  "$RB" backup "$TMP/b2.db" --db "$DB" > /dev/null 2> "$TMP/b2.err" || { ok_all=0; cat "$TMP/b2.err"; }
  [ "$(sqlite3 "$TMP/b2.db" 'pragma integrity_check')" = ok ] || ok_all=0
done
wait $UP
check "backups during uploads: exit 0 and integrity_check ok" [ $ok_all = 1 ]
"$RB" backup "$TMP/b2.db" --db "$DB" > /dev/null 2>&1
check "backup over an existing file replaces it (6 runs)" [ "$(sqlite3 "$TMP/b2.db" 'select count(*) from runs')" = 6 ]
check "the collector still serves after the backups" sh -c "curl -sf -m 5 '$URL/healthz' | grep -q '\"runs\":6'"

"$RB" backup "$TMP/b3.db" --db "$TMP/missing.db" > /dev/null 2> "$TMP/b3.err"
check "backup of a missing warehouse: exit 2, no file" sh -c "[ $? = 2 ] && [ ! -e '$TMP/b3.db' ] && [ ! -e '$TMP/b3.db.tmp' ] && [ -s '$TMP/b3.err' ]"
"$RB" backup "$DB" --db "$DB" > /dev/null 2> "$TMP/b4.err"
check "backup onto the warehouse itself: refused, exit 2" sh -c "[ $? = 2 ] && grep -q 'warehouse itself' '$TMP/b4.err'"
"$RB" backup "$TMP/nodir/b.db" --db "$DB" > /dev/null 2> "$TMP/b5.err"
check "backup into a missing directory: exit 2 with the cause" sh -c "[ $? = 2 ] && [ -s '$TMP/b5.err' ]"

check "collector stops cleanly on SIGTERM" stop_collector
finish
