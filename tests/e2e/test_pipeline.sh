#!/bin/bash
# End to end: real redis-server, real collector over HTTP, real SQLite file.
# Three runs land with the right counts; the runner's SET/GET counts equal the
# server's INFO commandstats; bad input is answered clearly and writes nothing.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

check "healthz answers ok" sh -c "curl -sf -m 5 '$URL/healthz' | grep -q '\"status\":\"ok\"'"

redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
runs_ok=1
for i in 1 2 3; do
  "$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 4 --pipeline 1,8 \
    --requests 2000 --iterations 3 --warmup 200 --dataset-size 500 --commit "c$i" --quiet \
    --collector "$URL" --out "$TMP/run$i.json" > "$TMP/run$i.out" 2> "$TMP/run$i.err" || runs_ok=0
done
check "three runs complete and upload" [ $runs_ok = 1 ]
check "runner prints a table with both operations" sh -c "grep -q '^set ' '$TMP/run1.out' && grep -q '^get ' '$TMP/run1.out'"
check "runner reports the upload" grep -q "uploaded run" "$TMP/run3.out"

check "warehouse holds 3 runs" [ "$(sql "$DB" 'select count(*) from runs')" = 3 ]
check "warehouse holds 4 results per run" [ "$(sql "$DB" 'select count(*) from results')" = 12 ]
check "warehouse holds 3 samples per result" [ "$(sql "$DB" 'select count(*) from samples')" = 36 ]
check "every result measured 3 x 2000 requests" \
  [ "$(sql "$DB" 'select count(*) from results where requests = 6000')" = 12 ]
IDS="'$(jget "$TMP/run1.json" '$.run_id')','$(jget "$TMP/run2.json" '$.run_id')','$(jget "$TMP/run3.json" '$.run_id')'"
check "run ids in the warehouse are the runner's" [ "$(sql "$DB" "select count(*) from runs where id in ($IDS)")" = 3 ]
check "branch and commit recorded" [ "$(sql "$DB" "select group_concat(commit_sha) from (select commit_sha from runs order by started_at)")" = "c1,c2,c3" ]
check "latency histogram stored" [ "$(sql "$DB" "select count(*) from results where latency_hist like 'h1:%' and p99_us >= p50_us and p50_us > 0")" = 12 ]
check "verdicts stored on ingest" [ "$(sql "$DB" "select count(*) from verdicts")" -gt 0 ]

# Commands the runner says it sent == commands the server executed.
sum_cmd() { n=0; for f in "$TMP"/run1.json "$TMP"/run2.json "$TMP"/run3.json; do
  n=$((n + $(jget "$f" "\$.runner.commands.$1"))); done; echo $n; }
server_calls() { redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p"; }
SET_R=$(sum_cmd set); GET_R=$(sum_cmd get); SET_S=$(server_calls set); GET_S=$(server_calls get)
echo "# SET runner=$SET_R server=$SET_S  GET runner=$GET_R server=$GET_S"
check "SET count equals INFO commandstats" [ -n "$SET_R" ] && [ "$SET_R" = "$SET_S" ]
check "GET count equals INFO commandstats" [ -n "$GET_R" ] && [ "$GET_R" = "$GET_S" ]
check "the runner cleaned its keys up" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]

# Pages and API.
RID=$(sql "$DB" "select id from runs order by started_at desc limit 1")
check "index page lists the runs" sh -c "curl -sf -m 5 '$URL/' | grep -q '/runs/$RID'"
check "run page shows its results and verdicts" sh -c "curl -sf -m 5 '$URL/runs/$RID' | grep -q 'Verdict:'"
check "unknown run page is a 404" [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/runs/nope")" = 404 ]
check "API lists runs" sh -c "curl -sf -m 5 '$URL/api/v1/runs' | grep -q '$RID'"
check "API returns one run with verdicts" sh -c "curl -sf -m 5 '$URL/api/v1/runs/$RID' | grep -q '\"verdicts\"'"

# Bad input: clear answers, nothing written.
before=$(sql "$DB" "select (select count(*) from runs)||'/'||(select count(*) from results)||'/'||(select count(*) from samples)")
printf '{"schema_version": 1, "run_id": ' > "$TMP/bad1.json"
r=$(post "$TMP/bad1.json"); check "malformed JSON: 400" [ "${r%% *}" = 400 ]
check "malformed JSON: message says so" sh -c "echo '$r' | grep -q 'malformed JSON'"
jedit "$TMP/run1.json" "json_set(json_remove(d, '\$.branch'), '\$.run_id', 'bad2')" > "$TMP/bad2.json"
r=$(post "$TMP/bad2.json"); check "missing field: 400 naming the field" sh -c "[ '${r%% *}' = 400 ] && echo '$r' | grep -q 'branch: required'"
jedit "$TMP/run1.json" "json_set(d, '\$.results[0].concurrency', 'four', '\$.run_id', 'bad3')" > "$TMP/bad3.json"
r=$(post "$TMP/bad3.json"); check "mistyped field: 400 naming the field" sh -c "[ '${r%% *}' = 400 ] && echo '$r' | grep -q 'results\[0\].concurrency: must be a number'"
jedit "$TMP/run1.json" "json_set(d, '\$.schema_version', 99, '\$.run_id', 'bad4')" > "$TMP/bad4.json"
r=$(post "$TMP/bad4.json"); check "unknown schema_version: 400" sh -c "[ '${r%% *}' = 400 ] && echo '$r' | grep -q 'schema_version: unsupported'"
jedit "$TMP/run1.json" "json_set(d, '\$.run_id', 'bad5')" > "$TMP/good5.json"
r=$(post "$TMP/good5.json" ""); check "no token: 401" [ "${r%% *}" = 401 ]
r=$(post "$TMP/good5.json" "wrong-token-wrong-token"); check "wrong token: 401" [ "${r%% *}" = 401 ]
head -c 17000000 /dev/zero | tr '\0' ' ' > "$TMP/big.json"
r=$(post "$TMP/big.json"); check "body over the limit: 413" [ "${r%% *}" = 413 ]
code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
  -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big.json" "$URL/api/v1/runs")
check "chunked body over the limit: 413" [ "$code" = 413 ]
r=$(post "$TMP/run1.json"); check "same run again: 200 already present" sh -c "[ '${r%% *}' = 200 ] && echo '$r' | grep -q already_present"
jedit "$TMP/run1.json" "json_set(d, '\$.commit', 'changed')" > "$TMP/conflict.json"
r=$(post "$TMP/conflict.json"); check "same id, other content: 409" [ "${r%% *}" = 409 ]
after=$(sql "$DB" "select (select count(*) from runs)||'/'||(select count(*) from results)||'/'||(select count(*) from samples)")
check "nothing written by bad input ($before -> $after)" [ "$before" = "$after" ]

# Every value on the pages is escaped.
jedit "$TMP/run1.json" "json_set(d, '\$.run_id', 'esc1', '\$.branch', '<script>alert(1)</script>', '\$.commit', '\"><img src=x>')" > "$TMP/esc.json"
r=$(post "$TMP/esc.json"); check "a run with markup in its fields is accepted" [ "${r%% *}" = 201 ]
curl -s -m 5 "$URL/" > "$TMP/index.html"; curl -s -m 5 "$URL/runs/esc1" > "$TMP/esc.html"
check "index page escapes the branch" sh -c "grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' '$TMP/index.html' && ! grep -q '<script>alert' '$TMP/index.html'"
check "run page escapes branch and commit" sh -c "grep -q '&quot;&gt;&lt;img src' '$TMP/esc.html' && ! grep -q '<img src=x>' '$TMP/esc.html' && ! grep -q '<script>alert' '$TMP/esc.html'"

# Uploading a file again via `redbench upload` is idempotent too.
check "redbench upload of a stored run succeeds" sh -c "'$RB' upload --collector '$URL' '$TMP/run2.json' | grep -q already_present"

# Unreachable target: names the address, exit 2.
"$RB" run --target 127.0.0.1:1 --requests 10 --iterations 1 --quiet > /dev/null 2> "$TMP/unreach.err"
rc=$?
check "unreachable target exits 2" [ $rc = 2 ]
check "unreachable target names the address and cause" grep -q "connect 127.0.0.1:1: Connection refused" "$TMP/unreach.err"

# Collector down: the run is spooled (exit 3) and `redbench upload` delivers it later.
"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios get --requests 500 --iterations 2 --quiet \
  --collector http://127.0.0.1:1 --retries 1 > /dev/null 2> "$TMP/spool.err"
rc=$?
check "upload retried before spooling" grep -q "retrying in 1 s" "$TMP/spool.err"
check "unreachable collector: exit 3 and run spooled" sh -c "[ $rc = 3 ] && ls '$REDBENCH_SPOOL'/*.json >/dev/null"
check "spooled run delivered by redbench upload" sh -c "'$RB' upload --collector '$URL' | grep -q created && [ -z \"\$(ls '$REDBENCH_SPOOL')\" ]"
check "warehouse now holds 5 runs" [ "$(sql "$DB" 'select count(*) from runs')" = 5 ]

check "collector stops cleanly on SIGTERM" stop_collector
finish
