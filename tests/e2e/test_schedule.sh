# test_schedule.sh -- schedules end to end: a real collector whose scheduler
# runs on a test-only fast tick (REDBENCH_SCHED_TEST_SECONDS), a real
# redis-server and a real worker; missed runs, deletion, auth and the CLI.
. "$(dirname "$0")/lib.sh"

start_redis || exit 1
REDBENCH_SCHED_TEST_SECONDS=2 start_collector "$TMP/sched.db" || exit 1

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
q() { sqlite3 :memory: "with t(d) as (select readfile('$TMP/api.body')) select $1 from t"; }

PLAN='{"target":"127.0.0.1:'$REDIS_PORT'","scenarios":"get","concurrency":[2],"iterations":1,
       "requests":2000,"warmup":0,"workers":1,"start_delay":0,"project":"sched-e2e"}'
BODY='{"cron":"* * * * *","plan":'$PLAN'}'

check "POST without a token is 401" test "$(api POST /api/v1/schedules "$BODY" '')" = 401
check "a bad cron is 400" test "$(api POST /api/v1/schedules '{"cron":"61 * * * *","plan":'"$PLAN"'}')" = 400
check "  ... naming the field" grep -q minute "$TMP/api.body"
check "a bad plan is 400" test "$(api POST /api/v1/schedules '{"cron":"* * * * *","plan":{"workers":2}}')" = 400
check "POST is 201" test "$(api POST /api/v1/schedules "$BODY")" = 201
SID=$(q "json_extract(d, '\$.id')")
check "it has a next due time" test -n "$(q "json_extract(d, '\$.next_due')")"
check "GET lists it" sh -c "test $(api GET /api/v1/schedules '' '') = 200"
check "  ... with its cron" test "$(q "json_extract(d, '\$.schedules[0].cron')")" = "* * * * *"

# With no worker, the first benchmark stays queued: the next due time is a miss.
i=0; missed=0
while [ $i -lt 300 ]; do # at most 60 s
  api GET /api/v1/schedules >/dev/null
  missed=$(q "json_extract(d, '\$.schedules[0].missed')")
  [ "$missed" -ge 1 ] 2>/dev/null && break
  sleep 0.2; i=$((i+1))
done
check "a due time with the previous benchmark not complete is reported missed" test "$missed" -ge 1
check "  ... listed with its reason" \
  sh -c "sqlite3 :memory: \"select json_extract(readfile('$TMP/api.body'), '\\\$.schedules[0].misses[0].reason')\" | grep -q 'was queued'"
BID=$(q "json_extract(d, '\$.schedules[0].last_benchmark_id')")
check "the schedule created one benchmark (no pile-up while it waits)" \
  test "$(sql "$TMP/sched.db" "select count(*) from benchmarks where schedule_id=$SID")" = 1

# A worker completes it; the next due time then creates a new benchmark.
"$RB" worker --collector "$URL" --name sw --max-tasks 2 --idle-exit 20 --quiet > "$TMP/w.out" 2> "$TMP/w.err" & W=$!
PIDS="$PIDS $W"
wait $W; rcw=$?
check "the worker ran two scheduled benchmarks and exited 0" test "$rcw" = 0
check "the scheduled benchmark completed with a merged run" \
  test "$(sql "$TMP/sched.db" "select status || ':' || (run_id is not null) from benchmarks where id='$BID'")" = "complete:1"
check "a later due time created the next benchmark" \
  test "$(sql "$TMP/sched.db" "select count(*) >= 2 from benchmarks where schedule_id=$SID")" = 1

check "DELETE without a token is 401" test "$(api DELETE "/api/v1/schedules/$SID" '' '')" = 401
check "DELETE is 200" test "$(api DELETE "/api/v1/schedules/$SID")" = 200
check "DELETE again is 404" test "$(api DELETE "/api/v1/schedules/$SID")" = 404
api GET /api/v1/schedules >/dev/null
check "the list is empty" test "$(q "json_array_length(d, '\$.schedules')")" = 0
n=$(sql "$TMP/sched.db" "select count(*) from benchmarks where schedule_id is null and id='$BID'")
check "its benchmarks stay (schedule_id cleared)" test "$n" = 1

# The CLI.
check "schedule add" sh -c "'$RB' schedule add --collector '$URL' --cron '*/5 * * * *' --disabled \
  --target 127.0.0.1:$REDIS_PORT --scenarios set --workers 1 > '$TMP/add.out'"
CID=$(sqlite3 :memory: "select json_extract(readfile('$TMP/add.out'), '\$.id')")
check "schedule list shows it" sh -c "'$RB' schedule list --collector '$URL' | grep -q '^$CID .*\\*/5 \\* \\* \\* \\*'"
check "schedule rm" sh -c "'$RB' schedule rm '$CID' --collector '$URL' | grep -q deleted"
check "schedule rm of a missing id fails" sh -c "! '$RB' schedule rm '$CID' --collector '$URL' 2>/dev/null"
check "schedule add without --cron fails" sh -c "! '$RB' schedule add --collector '$URL' --target x:1 2>/dev/null"

check "the collector stops cleanly (exit 0, no leaks)" stop_collector
finish
