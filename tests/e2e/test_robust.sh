#!/bin/bash
# The runner under trouble: wrong password, a target that dies or stalls mid-run,
# Ctrl-C, an open-loop rate, and a collector that is down and comes back.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
RARGS="--target 127.0.0.1:$REDIS_PORT --concurrency 4 --dataset-size 100 --warmup 100 --quiet --retries 0"

# Wrong password: a clear error, exit 2.
redis-cli -p "$REDIS_PORT" config set requirepass s3cret-pass > /dev/null
"$RB" run $RARGS --scenarios get --requests 100 --iterations 1 --password wrong > /dev/null 2> "$TMP/pw.err"
rc=$?
check "wrong password: exit 2" [ $rc = 2 ]
check "wrong password: the message says AUTH failed" grep -q "AUTH on 127.0.0.1:$REDIS_PORT failed" "$TMP/pw.err"
check "right password: the run works" "$RB" run $RARGS --scenarios get --requests 100 --iterations 1 --password s3cret-pass
redis-cli -p "$REDIS_PORT" -a s3cret-pass --no-auth-warning config set requirepass "" > /dev/null

# Open loop: the achieved rate is the target rate (±20%: a loaded machine may
# lag the schedule a little; closed loop here would be tens of thousands).
"$RB" run $RARGS --scenarios get --rate 2000 --duration 1 --iterations 2 --out "$TMP/open.json" > /dev/null
ops=$(jget "$TMP/open.json" '$.results[0].ops_per_sec')
check "open loop at 2000/s achieves 1600..2400 ops/s (got $ops)" awk -v x="$ops" 'BEGIN { exit !(x > 1600 && x < 2400) }'
check "open loop records its rate as a series parameter" [ "$(jget "$TMP/open.json" '$.results[0].params.rate')" = 2000 ]

# Ctrl-C: the current cell ends, finished iterations are kept, the run is partial.
# 3.5 s in (a loaded machine may take a second to start), the first cell of
# 20 s is in its third iteration or so; uninterrupted it would run 40 s.
"$RB" run $RARGS --scenarios get,set --duration 1 --iterations 20 --out "$TMP/int.json" > /dev/null 2>&1 &
RUNNER=$!
sleep 3.5
kill -INT $RUNNER
for i in $(seq 1 200); do kill -0 $RUNNER 2>/dev/null || break; sleep 0.1; done
kill -0 $RUNNER 2>/dev/null && kill -9 $RUNNER
wait $RUNNER
rc=$?
check "Ctrl-C: the runner exits 0 within 20 s" [ $rc = 0 ]
check "Ctrl-C: run marked partial" [ "$(jget "$TMP/int.json" '$.status')" = partial ]
nsamples=$(jget "$TMP/int.json" 'json_array_length($.results[0].samples)' 2>/dev/null)
[ -n "$nsamples" ] || nsamples=$(sqlite3 :memory: "select json_array_length(readfile('$TMP/int.json'), '\$.results[0].samples')")
check "Ctrl-C: the interrupted cell keeps its finished iterations ($nsamples)" \
  sh -c "[ '$(jget "$TMP/int.json" '$.results[0].status')' = partial ] && [ '$nsamples' -ge 1 ]"
check "Ctrl-C: no key left behind" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]

# A target that stalls (SIGSTOP): timeouts, bounded reconnects, exit 2, no hang.
"$RB" run $RARGS --scenarios get --duration 1 --iterations 20 --timeout 500 --out "$TMP/stall.json" > /dev/null 2> "$TMP/stall.err" &
RUNNER=$!
sleep 1.5
RPID=$(echo $PIDS | awk '{print $1}')
kill -STOP "$RPID"
for i in $(seq 1 600); do kill -0 $RUNNER 2>/dev/null || break; sleep 0.1; done
kill -0 $RUNNER 2>/dev/null && { notok "stalled target: the runner gives up within 60 s"; kill -9 $RUNNER; } || ok "stalled target: the runner gives up within 60 s"
wait $RUNNER
rc=$?
kill -CONT "$RPID"
check "stalled target: exit 2" [ $rc = 2 ]
check "stalled target: the cause is reported" grep -q "stalled\|timeout\|Resource temporarily unavailable" "$TMP/stall.err"
check "stalled target: the run is recorded as failed" [ "$(jget "$TMP/stall.json" '$.status')" = failed ]

# A target that dies mid-run: exit 2 naming the address.
start_redis || { notok "second redis-server starts"; finish; }
"$RB" run --target 127.0.0.1:$REDIS_PORT --concurrency 4 --dataset-size 100 --warmup 100 --quiet \
  --scenarios get --duration 1 --iterations 20 --timeout 1000 --out "$TMP/dead.json" > /dev/null 2> "$TMP/dead.err" &
RUNNER=$!
sleep 1.5
redis-cli -p "$REDIS_PORT" shutdown nosave > /dev/null 2>&1
for i in $(seq 1 600); do kill -0 $RUNNER 2>/dev/null || break; sleep 0.1; done
kill -0 $RUNNER 2>/dev/null && { notok "dead target: the runner exits within 60 s"; kill -9 $RUNNER; } || ok "dead target: the runner exits within 60 s"
wait $RUNNER
rc=$?
check "dead target: exit 2" [ $rc = 2 ]
check "dead target: the message names the address" grep -q "127.0.0.1:$REDIS_PORT" "$TMP/dead.err"

# A server without a command: that operation is "unsupported", the rest goes on.
start_redis --rename-command XADD "" --rename-command HSET "" || { notok "redis-server without XADD and HSET starts"; finish; }
"$RB" run --target 127.0.0.1:$REDIS_PORT --scenarios xadd,hget,get --requests 200 --iterations 1 \
  --warmup 20 --concurrency 2 --dataset-size 50 --quiet --out "$TMP/unsup.json" > /dev/null 2>&1
check "a missing command does not fail the run (exit 0)" [ $? = 0 ]
check "xadd (no such command) is marked unsupported" [ "$(jget "$TMP/unsup.json" '$.results[0].status')" = unsupported ]
check "hget (its preparation needs HSET) is marked unsupported" [ "$(jget "$TMP/unsup.json" '$.results[1].status')" = unsupported ]
check "the unsupported result says why" sh -c "jget() { sqlite3 :memory: \"select json_extract(readfile('\$1'), '\$2')\"; }; jget '$TMP/unsup.json' '\$.results[0].error' | grep -qi 'unknown command'"
check "get still ran" sh -c "[ '$(jget "$TMP/unsup.json" '$.results[2].status')' = ok ] && [ '$(jget "$TMP/unsup.json" '$.results[2].requests')' = 200 ]"

# Spool and upload: the collector is down, comes back, gets the run exactly once.
start_redis || { notok "third redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }
DOWN_URL=$URL
stop_collector
"$RB" run --target 127.0.0.1:$REDIS_PORT --scenarios get --requests 500 --iterations 2 --quiet \
  --collector "$DOWN_URL" --retries 0 --out "$TMP/spooled.json" > /dev/null 2>&1
check "collector down: exit 3, run spooled" sh -c "[ $? = 3 ] && [ \$(ls '$REDBENCH_SPOOL' | wc -l) = 1 ]"
start_collector "$DB" || { notok "collector restarts"; finish; }
check "redbench upload delivers the spool" sh -c "'$RB' upload --collector '$URL' | grep -q created"
check "the spool is empty afterwards" [ -z "$(ls "$REDBENCH_SPOOL")" ]
check "a second upload finds nothing to send" sh -c "'$RB' upload --collector '$URL' | grep -q 'is empty'"
check "the run is stored exactly once" [ "$(sql "$DB" "select count(*) from runs where id='$(jget "$TMP/spooled.json" '$.run_id')'")" = 1 ]
check "collector stops cleanly" stop_collector
finish
