#!/bin/bash
# End to end: the scenarios from the field (runner/scenarios.c) against a real
# redis-server, through tests/scenario_driver (built beside redbench).
# pubsub-fanout delivers everything on loopback, filters other instances'
# messages and keeps its pace; stream-rpc completes every request and leaves
# nothing pending; capacity-fill loads, stops at maxmemory and its integrity
# check catches a planted corruption. After each: no keys left, and the
# commands the scenario counted equal INFO commandstats. A stalled server ends
# a scenario as "partial" within its timeouts; no target is a clear error.
. "$(dirname "$0")/lib.sh"

DRIVER="$(dirname "$RB")/scenario_driver"
[ -x "$DRIVER" ] || { notok "scenario_driver is built beside redbench ($DRIVER)"; finish; }
start_redis || { notok "redis-server starts"; finish; }
T="127.0.0.1:$REDIS_PORT"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# m FILE NAME: a metric of the run's only result.
m() { jget "$1" "\$.results[0].metrics.$2"; }
# jlen FILE PATH: length of a JSON array.
jlen() { sqlite3 :memory: "select json_array_length(readfile('$1'), '$2')"; }

# cmd_counts FILE: "name count" lines the driver counted; server_counts: what
# INFO commandstats says (calls + rejected_calls), without CONFIG RESETSTAT.
cmd_counts() { sqlite3 :memory: "select key || ' ' || value from json_each(readfile('$1'), '\$.runner.commands') order by key"; }
server_counts() {
  rcli info commandstats | tr -d '\r' |
    sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*rejected_calls=\([0-9]*\).*/\1 \2 \3/p' |
    awk '$1 != "config|resetstat" { print $1, $2 + $3 }' | LC_ALL=C sort
}
# same_counts NAME FILE: the check that counted commands equal commandstats.
same_counts() {
  a=$(cmd_counts "$2" | LC_ALL=C sort); b=$(server_counts)
  if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "$1"; else
    notok "$1"; echo "# driver: $(echo $a)"; echo "# server: $(echo $b)"; fi
}
# drive OUT ARGS...: resets the server's stats, runs the driver, keeps stderr.
drive() { out=$1; shift; rcli config resetstat > /dev/null
  timeout 60 "$DRIVER" --target "$T" "$@" > "$out" 2> "$out.err"; }

# ---- pubsub-fanout ----
F="$TMP/ps.json"
drive "$F" --scenario pubsub-fanout --publishers 1 --subscribers 4 --requests 2000 --iterations 2 --value-size 128
check "pubsub-fanout runs" [ $? = 0 ]
check "pubsub-fanout: status ok, 2 samples" [ "$(jget "$F" '$.results[0].status')/$(jlen "$F" '$.results[0].samples')" = "ok/2" ]
check "pubsub-fanout: 4000 published, 16000 expected" [ "$(m "$F" published)/$(m "$F" expected)" = "4000/16000" ]
check "pubsub-fanout: delivers 100% on loopback" [ "$(m "$F" delivered)/$(m "$F" delivery_rate)" = "16000/1" ]
check "pubsub-fanout: no lost, no duplicate messages" [ "$(m "$F" lost)/$(m "$F" duplicates)" = "0/0" ]
check "pubsub-fanout: every subscriber got everything" [ "$(m "$F" sub_min_delivery_rate)/$(m "$F" sub_max_delivery_rate)" = "1/1" ]
check "pubsub-fanout: samples count deliveries" [ "$(jget "$F" '$.results[0].requests')/$(jget "$F" '$.results[0].samples[1].requests')" = "16000/8000" ]
check "pubsub-fanout: publish-to-receive latency recorded" \
  sh -c "[ \"\$(sqlite3 :memory: \"select json_extract(readfile('$F'), '\$.results[0].latency_hist') like 'h1:%' and json_extract(readfile('$F'), '\$.results[0].latency_us.p99') > 0\")\" = 1 ]"
check "pubsub-fanout: params name publishers and subscribers" \
  [ "$(jget "$F" '$.results[0].params.publishers')/$(jget "$F" '$.results[0].params.subscribers')" = "1/4" ]
same_counts "pubsub-fanout: counted commands equal INFO commandstats" "$F"
check "pubsub-fanout: no keys left" [ "$(rcli dbsize)" = 0 ]

# Two instances on the same channel at a fixed rate: each filters the other's
# messages, still gets all of its own, and keeps its pace.
A="$TMP/ps-a.json"; B="$TMP/ps-b.json"
timeout 60 "$DRIVER" --target "$T" --scenario pubsub-fanout --requests 2000 --rate 4000 --instance-id alpha > "$A" 2> "$A.err" &
apid=$!
timeout 60 "$DRIVER" --target "$T" --scenario pubsub-fanout --requests 2000 --rate 4000 --instance-id beta > "$B" 2> "$B.err"
brc=$?; wait $apid; arc=$?
check "two pubsub instances run side by side" [ "$arc/$brc" = "0/0" ]
check "each instance filters the other's messages" sh -c "[ '$(m "$A" foreign_filtered)' -gt 0 ] && [ '$(m "$B" foreign_filtered)' -gt 0 ]"
check "each instance still gets all of its own" [ "$(m "$A" delivery_rate)/$(m "$A" duplicates)/$(m "$B" delivery_rate)/$(m "$B" duplicates)" = "1/0/1/0" ]
echo "# paced publish rate: $(m "$A" publish_rate) and $(m "$B" publish_rate) msg/s (target 4000)"
# The upper bound shows the pacing; the lower one is loose: a loaded machine
# can stall a 0.5 s publisher for a good part of its run.
check "paced publishers keep the rate (1000..4400 msg/s)" \
  sh -c "awk 'BEGIN { exit !($(m "$A" publish_rate) > 1000 && $(m "$A" publish_rate) < 4400) }'"

# ---- stream-rpc ----
F="$TMP/rpc.json"
drive "$F" --scenario stream-rpc --concurrency 4 --requests 2000 --iterations 2 --warmup 100
check "stream-rpc runs" [ $? = 0 ]
check "stream-rpc: status ok" [ "$(jget "$F" '$.results[0].status')" = ok ]
check "stream-rpc: every request completed" [ "$(m "$F" completed)/$(jget "$F" '$.results[0].requests')" = "4000/4000" ]
check "stream-rpc: no timeouts, no errors" [ "$(m "$F" timeouts)/$(m "$F" request_errors)/$(m "$F" worker_errors)" = "0/0/0" ]
check "stream-rpc: nothing pending after" [ "$(m "$F" pending_after)" = 0 ]
check "stream-rpc: workers default to concurrency/2" [ "$(jget "$F" '$.results[0].params.workers')" = 2 ]
check "stream-rpc: round-trip latency recorded" \
  sh -c "[ \"\$(sqlite3 :memory: \"select json_extract(readfile('$F'), '\$.results[0].latency_us.p50') > 0\")\" = 1 ]"
same_counts "stream-rpc: counted commands equal INFO commandstats" "$F"
check "stream-rpc: no keys left" [ "$(rcli dbsize)" = 0 ]

# ---- capacity-fill ----
F="$TMP/cap.json"
drive "$F" --scenario capacity-fill --max-events 20000 --iterations 4 --value-size 256 --pipeline 50 --concurrency 2
check "capacity-fill runs" [ $? = 0 ]
check "capacity-fill: loads every event, stopped by the count" \
  [ "$(m "$F" events_loaded)/$(m "$F" stopped_by)/$(jget "$F" '$.results[0].status')" = "20000/0/ok" ]
check "capacity-fill: one sample per stage" [ "$(jlen "$F" '$.results[0].samples')/$(jget "$F" '$.results[0].samples[3].requests')" = "4/5000" ]
check "capacity-fill: sampled integrity check is clean" \
  [ "$(m "$F" integrity_checked)/$(m "$F" integrity_failures)/$(m "$F" integrity_evicted)" = "200/0/0" ]
check "capacity-fill: event sizes vary around value_size" \
  sh -c "awk 'BEGIN { b = $(m "$F" bytes_loaded) / 20000; exit !(b > 200 && b < 320) }'"
check "capacity-fill: memory grows over the fill" \
  sh -c "awk 'BEGIN { exit !($(m "$F" mem_before) < $(m "$F" mem_at_25pct) && $(m "$F" mem_at_25pct) < $(m "$F" mem_at_50pct) && $(m "$F" mem_at_50pct) < $(m "$F" mem_at_75pct) && $(m "$F" mem_at_75pct) < $(m "$F" mem_at_100pct)) }'"
check "capacity-fill: clean-up timed" sh -c "awk 'BEGIN { exit !($(m "$F" cleanup_seconds) > 0) }'"
same_counts "capacity-fill: counted commands equal INFO commandstats" "$F"
check "capacity-fill: no keys left" [ "$(rcli dbsize)" = 0 ]

F="$TMP/cap-corrupt.json"
drive "$F" --scenario capacity-fill --max-events 5000 --pipeline 20 --corrupt-event 1234
check "capacity-fill with a planted corruption runs" [ $? = 0 ]
check "capacity-fill: integrity check catches the planted corruption" \
  [ "$(m "$F" integrity_failures)/$(m "$F" integrity_evicted)" = "1/0" ]
same_counts "capacity-fill (corrupt): counted commands equal INFO commandstats" "$F"
check "capacity-fill (corrupt): no keys left" [ "$(rcli dbsize)" = 0 ]

# Under a maxmemory (noeviction): the fill stops there, OOM-rejected SETs
# are counted as sent (commandstats: rejected_calls), the data is intact.
used=$(rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p')
rcli config set maxmemory $((used + 4000000)) > /dev/null
F="$TMP/cap-max.json"
drive "$F" --scenario capacity-fill --max-events 200000 --value-size 256 --pipeline 50 --iterations 5
check "capacity-fill under maxmemory runs" [ $? = 0 ]
echo "# maxmemory fill: $(m "$F" events_loaded) events, $(m "$F" oom_rejected) rejected, stopped_by $(m "$F" stopped_by)"
check "capacity-fill: stops at maxmemory" \
  sh -c "[ '$(m "$F" stopped_by)' = 1 ] && [ '$(m "$F" events_loaded)' -gt 1000 ] && [ '$(m "$F" events_loaded)' -lt 200000 ]"
check "capacity-fill: intact up to maxmemory" [ "$(m "$F" integrity_failures)" = 0 ]
same_counts "capacity-fill (maxmemory): counted commands equal commandstats calls + rejected" "$F"
check "capacity-fill (maxmemory): no keys left" [ "$(rcli dbsize)" = 0 ]
rcli config set maxmemory 0 > /dev/null

# ---- robustness ----
# The server stalls (SIGSTOP) for 1.5 s mid-run: timeouts end the scenario as
# partial, quickly, and it still cleans up once the server is back. The stall
# starts 0.5 s after the scenario's first key appears (bounded wait: 30 s).
rpid=$(rcli info server | tr -d '\r' | sed -n 's/^process_id://p')
F="$TMP/stall.json"
( for i in $(seq 1 300); do [ "$(rcli dbsize)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
  sleep 0.5; kill -STOP "$rpid"; sleep 1.5; kill -CONT "$rpid" ) &
spid=$!
start=$(date +%s)
timeout 60 "$DRIVER" --target "$T" --scenario stream-rpc --concurrency 2 --duration 4 --timeout-ms 300 > "$F" 2> "$F.err"
rc=$?; wait $spid; kill -CONT "$rpid" 2>/dev/null
took=$(( $(date +%s) - start ))
check "stalled server: stream-rpc ends partial, naming the cause" \
  sh -c "[ $rc = 0 ] && [ '$(jget "$F" '$.results[0].status')' = partial ] && grep -q 'Resource temporarily unavailable\|no reply' '$F'"
check "stalled server: bounded (${took}s < 30s)" [ "$took" -lt 30 ]
for i in $(seq 1 300); do [ "$(rcli dbsize)" = 0 ] && break; sleep 0.1; done
check "stalled server: keys cleaned up afterwards" [ "$(rcli dbsize)" = 0 ]

"$DRIVER" --target 127.0.0.1:1 --scenario capacity-fill --max-events 10 > "$TMP/down.json" 2> "$TMP/down.err"
rc=$?
check "no target: exit 1, the cause named" sh -c "[ $rc = 1 ] && grep -q 'connect 127.0.0.1:1: Connection refused' '$TMP/down.err'"
check "no target: result marked failed" [ "$(jget "$TMP/down.json" '$.results[0].status')" = failed ]
"$DRIVER" --target "$T" --scenario no-such-scenario > /dev/null 2>&1
check "unknown scenario: usage error" [ $? = 2 ]
finish
