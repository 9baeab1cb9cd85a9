# test_orchestrated.sh -- orchestrated mode end to end: a real redis-server, a
# real collector and real `redbench worker` processes. Two workers share a
# benchmark and the collector merges their runs; a worker killed mid-task has
# its task leased again and counted once.
. "$(dirname "$0")/lib.sh"

start_redis || exit 1
start_collector "$TMP/orch.db" || exit 1

# api METHOD PATH [BODY] [TOKEN]: prints "STATUS" and leaves the body in $TMP/api.body.
api() {
  tok=${4-$REDBENCH_TOKEN}
  set -- "$1" "$2" "${3-}"
  if [ -n "$tok" ]; then
    curl -s -m 30 -o "$TMP/api.body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$URL$2"
  else
    curl -s -m 30 -o "$TMP/api.body" -w '%{http_code}' -X "$1" \
      -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$URL$2"
  fi
}
# q SQL: a value from the JSON file $TMP/api.body ("d" in SQL is its text).
q() { sqlite3 :memory: "with t(d) as (select readfile('$TMP/api.body')) select $1 from t"; }

# wait_status ID WANT SECONDS: polls the benchmark's status until it is WANT.
wait_status() {
  i=0
  while [ $i -lt $(( $3 * 5 )) ]; do
    api GET "/benchmark/status/$1" >/dev/null
    [ "$(q "json_extract(d, '\$.status')")" = "$2" ] && return 0
    sleep 0.2; i=$((i+1))
  done
  echo "# benchmark $1 is $(q "json_extract(d, '\$.status')"), not $2:" >&2; cat "$TMP/api.body" >&2; echo >&2
  return 1
}

# A lease of 20 s (heartbeats every 6.7 s): a loaded machine must not make a
# live worker's lease lapse here. The killed-worker case below uses 6 s.
PLAN='{"target":"127.0.0.1:'$REDIS_PORT'","scenarios":"set,get","concurrency":[4],"value_size":[32],
       "dataset_size":[1000],"iterations":2,"requests":6000,"warmup":200,"workers":2,"share":"split",
       "start_delay":1,"lease_seconds":20,"branch":"main","project":"orch-e2e"}'

# ---- auth and validation ----
check "start without a token is 401" test "$(api POST /benchmark/start "$PLAN" '')" = 401
check "lease without a token is 401" test "$(api POST /api/v1/tasks/lease '{"worker":"x"}' '')" = 401
check "a bad plan is 400" test "$(api POST /benchmark/start '{"target":"127.0.0.1:1","share":"half"}')" = 400
check "  ... the message names plan.share" grep -q 'plan.share' "$TMP/api.body"
check "unsplittable concurrency is 400" \
  test "$(api POST /benchmark/start '{"target":"127.0.0.1:1","concurrency":[1],"workers":2}')" = 400
check "an unknown benchmark is 404" test "$(api GET /benchmark/status/nope)" = 404
check "no task to lease is 204" test "$(api POST /api/v1/tasks/lease '{"worker":"idle"}')" = 204

# ---- two workers, one benchmark ----
check "start is 201" test "$(api POST /benchmark/start "$PLAN")" = 201
ID=$(q "json_extract(d, '\$.id')")
check "results before completion are 404" test "$(api GET "/benchmark/results/$ID")" = 404
"$RB" worker --collector "$URL" --name w1 --once --idle-exit 30 > "$TMP/w1.out" 2> "$TMP/w1.err" & W1=$!
"$RB" worker --collector "$URL" --name w2 --once --idle-exit 30 > "$TMP/w2.out" 2> "$TMP/w2.err" & W2=$!
PIDS="$PIDS $W1 $W2"
check "the benchmark completes" wait_status "$ID" complete 180
check "status shows both workers" \
  test "$(q "(select group_concat(json_extract(value, '\$.name')) from json_each(d, '\$.workers'))")" = "w1,w2"
check "each task was done once, by its own worker" \
  test "$(q "(select group_concat(json_extract(value, '\$.status') || ':' || json_extract(value, '\$.attempts')) from json_each(d, '\$.tasks'))")" = "done:1,done:1"
RUN_ID=$(q "json_extract(d, '\$.run_id')")
wait $W1; rc1=$?; wait $W2; rc2=$?
check "both --once workers exit 0" test "$rc1$rc2" = 00
check "results are 200" test "$(api GET "/benchmark/results/$ID")" = 200
cp "$TMP/api.body" "$TMP/merged.json"
check "the merged run is mode orchestrated with the run id of the status" \
  test "$(q "json_extract(d, '\$.mode') || ' ' || json_extract(d, '\$.run_id')")" = "orchestrated $RUN_ID"
check "two cells (set, get)" test "$(q "json_array_length(d, '\$.results')")" = 2
check "merged concurrency is the plan's" \
  test "$(q "(select group_concat(json_extract(value, '\$.concurrency')) from json_each(d, '\$.results'))")" = "4,4"
check "merged requests = plan requests x iterations" \
  test "$(q "(select group_concat(json_extract(value, '\$.requests')) from json_each(d, '\$.results'))")" = "12000,12000"
check "merged histogram count = requests" \
  test "$(q "(select count(*) from json_each(d, '\$.results') where json_extract(value, '\$.metrics.latency_count') = json_extract(value, '\$.requests'))")" = 2
check "merged ops/s = sum of the workers' ops/s" \
  test "$(q "(select count(*) from json_each(d, '\$.results') r where abs(json_extract(r.value, '\$.ops_per_sec') - json_extract(r.value, '\$.metrics.worker0_ops_per_sec') - json_extract(r.value, '\$.metrics.worker1_ops_per_sec')) <= 0.001 * json_extract(r.value, '\$.ops_per_sec') and json_extract(r.value, '\$.ops_per_sec') > 0)")" = 2
check "each worker's requests are kept (3000 per iteration each)" \
  test "$(q "(select count(*) from json_each(d, '\$.results') where json_extract(value, '\$.metrics.worker0_requests') = 6000 and json_extract(value, '\$.metrics.worker1_requests') = 6000)")" = 2
check "per-iteration samples sum the workers" \
  test "$(q "(select count(*) from json_each(d, '\$.results') r, json_each(r.value, '\$.samples') s where json_extract(s.value, '\$.requests') = 6000)")" = 4
check "percentiles come from the merged histogram (p99 >= p50 > 0)" \
  test "$(q "(select count(*) from json_each(d, '\$.results') where json_extract(value, '\$.latency_us.p99') >= json_extract(value, '\$.latency_us.p50') and json_extract(value, '\$.latency_us.p50') > 0)")" = 2
check "the merged run is stored like any run" \
  test "$(sql "$TMP/orch.db" "select mode || ':' || (select count(*) from results where run_id = runs.id) from runs where id = '$RUN_ID'")" = "orchestrated:2"
check "verdicts were computed for it" \
  test "$(sql "$TMP/orch.db" "select count(*) > 0 from verdicts where run_id = '$RUN_ID'")" = 1
check "a second result for a finished task is refused" \
  test "$(api POST "/api/v1/tasks/$(sql "$TMP/orch.db" "select id from tasks where benchmark_id='$ID' and lease_owner='w1'")/result" '{"worker":"w2","error":"late"}')" = 409

# ---- a worker killed mid-task ----
# Its lease lapses 6 s after its last heartbeat; the rescuer's live lease is
# renewed every 2 s, so only a 4 s stall of its heartbeats would lapse it.
check "second start is 201" test "$(api POST /benchmark/start "$(echo "$PLAN" | sed 's/"requests":6000/"requests":60000/; s/"lease_seconds":20/"lease_seconds":6/')")" = 201
ID2=$(q "json_extract(d, '\$.id')")
"$RB" worker --collector "$URL" --name doomed --once --idle-exit 30 > "$TMP/w3.out" 2> "$TMP/w3.err" & W3=$!
PIDS="$PIDS $W3"
i=0; leased=""
while [ $i -lt 600 ]; do # at most 60 s
  leased=$(sql "$TMP/orch.db" "select count(*) from tasks where benchmark_id='$ID2' and lease_owner='doomed' and status='leased'")
  [ "$leased" = 1 ] && break
  sleep 0.1; i=$((i+1))
done
check "the doomed worker leased a task" test "$leased" = 1
sleep 1.5
kill -9 $W3; wait $W3 2>/dev/null
"$RB" worker --collector "$URL" --name rescuer --max-tasks 2 --idle-exit 30 > "$TMP/w4.out" 2> "$TMP/w4.err" & W4=$!
PIDS="$PIDS $W4"
check "the benchmark completes after the lease lapsed" wait_status "$ID2" complete 300
check "the killed task was leased twice, last by the rescuer" \
  test "$(q "(select group_concat(json_extract(value, '\$.worker') || ':' || json_extract(value, '\$.attempts')) from json_each(d, '\$.tasks'))")" = "rescuer:2,rescuer:1"
wait $W4; rc4=$?
check "the rescuer exits 0 after 2 tasks" test "$rc4" = 0
api GET "/benchmark/results/$ID2" >/dev/null
check "the re-leased task is counted once (requests = 60000 x 2 iterations)" \
  test "$(q "(select group_concat(json_extract(value, '\$.requests')) from json_each(d, '\$.results'))")" = "120000,120000"
check "  ... and its histogram too" \
  test "$(q "(select count(*) from json_each(d, '\$.results') where json_extract(value, '\$.metrics.latency_count') = 120000)")" = 2
check "the collector logged the lapsed lease" grep -q 'lapsed' "$TMP/serve.err"

check "the collector stops cleanly (exit 0, no leaks)" stop_collector
finish
