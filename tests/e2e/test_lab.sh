# test_lab.sh -- `redbench proxy` (delay, stall, reset, events) over loopback, and
# every `redbench lab` mode end to end against a real collector: the runs land
# with the right mode and regions, the injected round trip shows in the
# latency, orchestrated merges the workers, cluster reports a replication lag,
# and nothing is left behind (processes, namespaces, temporary directories).
. "$(dirname "$0")/lib.sh"

ROOT=0; [ "$(id -u)" = 0 ] && ROOT=1
# Everything the lab creates lives under $LABTMP (its TMPDIR), so leftovers are easy to find.
LABTMP="$TMP/labtmp"; mkdir -p "$LABTMP"
export TMPDIR="$LABTMP"
# Short runs: few requests, few iterations.
RUNARGS="--scenarios get --requests 300 --iterations 2 --warmup 20 --concurrency 2 --dataset-size 100 --quiet"

start_redis || exit 1
start_collector "$TMP/lab.db" || exit 1
DB="$TMP/lab.db"

now_ms() { date +%s%3N; }
# lab ARGS...: `redbench lab ARGS` in the foreground; its pid is kept (LABPIDS) to look for leftovers.
LABPIDS=""
lab() { "$RB" lab "$@" & LABPIDS="$LABPIDS $!"; wait $!; }

# proxy_start ARGS...: starts `redbench proxy` on a free loopback port; sets PX_PID, PX_PORT.
proxy_start() {
  rm -f "$TMP/px.ready"
  "$RB" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$REDIS_PORT" --ready-file "$TMP/px.ready" "$@" \
    2>>"$TMP/proxy.err" &
  PX_PID=$!
  PIDS="$PIDS $PX_PID"
  for i in $(seq 1 600); do # at most 30 s
    [ -s "$TMP/px.ready" ] && { PX_PORT=$(sed 's/.*://' "$TMP/px.ready"); return 0; }
    sleep 0.05
  done
  return 1
}
proxy_stop() { kill -TERM "$PX_PID"; wait "$PX_PID"; PX_RC=$?; PIDS=$(echo "$PIDS" | sed "s/\b$PX_PID\b//"); }

# p50 PORT [REQUESTS]: the get p50 (µs) of a short closed-loop run through 127.0.0.1:PORT.
p50() {
  "$RB" run --target "127.0.0.1:$1" --scenarios get --concurrency 1 --requests "${2:-30}" --iterations 1 \
    --warmup 5 --dataset-size 10 --quiet --out "$TMP/p50.json" >/dev/null 2>&1 || { echo 0; return; }
  jget "$TMP/p50.json" '$.results[0].latency_us.p50'
}

# ---- proxy: delay ----
proxy_start --delay 0 || notok "proxy: starts and writes its ready file"
grep -q "^127.0.0.1:[0-9][0-9]*$" "$TMP/px.ready" && ok "proxy: ready file holds HOST:PORT" || notok "proxy: ready file holds HOST:PORT"
base=$(p50 "$PX_PORT")
proxy_stop
check "proxy: exits 0 on SIGTERM" [ "$PX_RC" = 0 ]
proxy_start --delay 40
delayed=$(p50 "$PX_PORT")
proxy_stop
# The base is measured again and the lower taken: a CPU hog during one short
# measurement must not eat into the rise.
proxy_start --delay 0
base2=$(p50 "$PX_PORT")
proxy_stop
base=$(awk -v a="$base" -v b="$base2" 'BEGIN { print (b > 0 && (a <= 0 || b < a)) ? b : a }')
echo "# proxy p50 without delay ${base} us (lower of two), with --delay 40: ${delayed} us"
check "proxy: --delay 40 adds about 40 ms of round trip (p50 rise >= 32 ms)" \
  awk -v a="$base" -v b="$delayed" 'BEGIN { exit !(a > 0 && b - a >= 32000) }'
check "proxy: --delay 40 adds no more than a generous bound (p50 < 400 ms)" \
  awk -v b="$delayed" 'BEGIN { exit !(b < 400000) }'

# ---- proxy: a latency fault, then back to normal ----
rm -f "$TMP/evl.jsonl"
# A long window, so that even a slow (sanitizer) build measures inside it.
proxy_start --faults "0s+6s:latency=60" --events "$TMP/evl.jsonl"
during=$(p50 "$PX_PORT" 20)
for i in $(seq 1 600); do grep -q '"event":"end"' "$TMP/evl.jsonl" 2>/dev/null && break; sleep 0.05; done
after=$(p50 "$PX_PORT" 100)
proxy_stop
echo "# proxy latency=60 fault: p50 during ${during} us, after ${after} us"
check "proxy: a latency=60 fault adds about 60 ms while active (p50 >= 48 ms)" \
  awk -v v="$during" 'BEGIN { exit !(v >= 48000) }'
check "proxy: after the latency window the added latency is gone (p50 < 24 ms)" \
  awk -v v="$after" 'BEGIN { exit !(v > 0 && v < 24000) }'
check "proxy: latency events carry the argument" grep -q '"event":"start","index":0,"kind":"latency","arg":60' "$TMP/evl.jsonl"

# ---- proxy: faults ----
rm -f "$TMP/ev.jsonl"
# The reset window is 3 s: two checks (each a process or two) must fit in it.
proxy_start --faults "1s+1500ms:stall,3500ms+3s:reset" --events "$TMP/ev.jsonl"
# A connection opened before the reset window, used before and during it.
exec 3<>"/dev/tcp/127.0.0.1/$PX_PORT"
printf 'PING\r\n' >&3
read -r -t 3 pre <&3
check "proxy: a connection works before any fault" [ "$(printf %s "$pre" | tr -d '\r')" = "+PONG" ]
# The stall: wait for its start event, then a PING must be answered only after its end.
for i in $(seq 1 200); do grep -q '"event":"start","index":0' "$TMP/ev.jsonl" 2>/dev/null && break; sleep 0.05; done
reply=$(redis-cli -p "$PX_PORT" ping 2>&1)
t_reply=$(now_ms)
stall_end=$(sed -n 's/.*"unix_ms":\([0-9]*\),"event":"end","index":0.*/\1/p' "$TMP/ev.jsonl")
check "proxy: stall holds the request and releases it (PONG)" [ "$reply" = "PONG" ]
check "proxy: the stalled reply comes after the stall ends" [ "$t_reply" -ge "${stall_end:-99999999999999}" ]
# The reset: the old connection is reset at the start, new ones during the window.
for i in $(seq 1 200); do grep -q '"event":"start","index":1' "$TMP/ev.jsonl" 2>/dev/null && break; sleep 0.05; done
got=$( { printf 'PING\r\n' >&3 && read -r -t 2 x <&3 && printf %s "$x"; } 2>/dev/null | tr -d '\r')
check "proxy: reset closes a connection open at its start" [ "$got" != "+PONG" ]
exec 3<&- 2>/dev/null; exec 3>&- 2>/dev/null
check "proxy: reset refuses new connections during the window" sh -c "! redis-cli -p $PX_PORT ping 2>/dev/null | grep -q PONG"
for i in $(seq 1 600); do grep -q '"event":"end","index":1' "$TMP/ev.jsonl" 2>/dev/null && break; sleep 0.05; done
check "proxy: connections work again after the reset window" sh -c "redis-cli -p $PX_PORT ping | grep -q PONG"
proxy_stop
check "proxy: exits 0 on SIGTERM after faults" [ "$PX_RC" = 0 ]
check "proxy: events file has a start and an end line per fault" [ "$(grep -c '"unix_ms":[0-9]*,"event":"\(start\|end\)"' "$TMP/ev.jsonl")" = 4 ]
check "proxy: events name the kinds" sh -c "grep -q '\"kind\":\"stall\"' $TMP/ev.jsonl && grep -q '\"kind\":\"reset\"' $TMP/ev.jsonl"
check "proxy: a bad fault spec is refused (exit 2)" sh -c "'$RB' proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --faults 5+1s:stall 2>/dev/null; [ \$? = 2 ]"

# ---- lab modes ----
# run_count MODE: runs of a mode in the warehouse.
run_count() { sql "$DB" "select count(*) from runs where mode = '$1'"; }

lab single --collector "$URL" -- $RUNARGS > "$TMP/single.out" 2>&1
check "lab single: exits 0" [ $? = 0 ]
check "lab single: the run landed with mode, regions and preset" \
  [ "$(sql "$DB" "select client_region || ',' || server_region || ',' || target_preset from runs where mode = 'single'")" = "iad,iad,lab" ]

if [ $ROOT = 1 ]; then
  lab client-server --collector "$URL" --same-region-rtt 2 -- $RUNARGS > "$TMP/cs.out" 2>&1
  check "lab client-server: exits 0" [ $? = 0 ]
  check "lab client-server: recorded with regions and in namespaces" \
    [ "$(sql "$DB" "select client_region || ',' || server_region || ',' || json_extract(target_config, '$.lab_network') || ',' || json_extract(target_config, '$.lab_rtt_ms') from runs where mode = 'client-server'")" = "iad,iad,netns,2" ]
  cs50=$(sql "$DB" "select p50_us from results r join runs u on u.id = r.run_id where u.mode = 'client-server'")
  check "lab client-server: p50 shows the 2 ms round trip (>= 1.6 ms)" awk -v v="$cs50" 'BEGIN { exit !(v >= 1600) }'

  lab multi-region --collector "$URL" --regions fra=90,near=10 -- $RUNARGS > "$TMP/mr.out" 2>&1
  check "lab multi-region: exits 0" [ $? = 0 ]
  check "lab multi-region: one run per region, server in iad" \
    [ "$(sql "$DB" "select group_concat(client_region || '>' || server_region, ' ') from (select * from runs where mode = 'multi-region' order by client_region)")" = "fra>iad near>iad" ]
  fra=$(sql "$DB" "select p50_us from results r join runs u on u.id = r.run_id where u.mode = 'multi-region' and u.client_region = 'fra'")
  near=$(sql "$DB" "select p50_us from results r join runs u on u.id = r.run_id where u.mode = 'multi-region' and u.client_region = 'near'")
  echo "# multi-region p50: fra (90 ms) ${fra} us, near (10 ms) ${near} us; single $(sql "$DB" "select p50_us from results r join runs u on u.id = r.run_id where u.mode = 'single'") us"
  check "lab multi-region: fra p50 >= 80 ms (90 ms injected)" awk -v v="$fra" 'BEGIN { exit !(v >= 80000) }'
  check "lab multi-region: near p50 >= 8 ms (10 ms injected)" awk -v v="$near" 'BEGIN { exit !(v >= 8000) }'
  check "lab multi-region: region ordering kept (fra > near)" awk -v a="$fra" -v b="$near" 'BEGIN { exit !(a > b) }'
else
  echo "ok - lab client-server and multi-region # SKIP not root: network namespaces need root"
fi

lab multi-region --no-netns --out "$TMP/lo" --regions near=5 -- $RUNARGS > "$TMP/lo.out" 2>&1
check "lab multi-region --no-netns: falls back to loopback with a warning" grep -q "warning: loopback" "$TMP/lo.out"
f=$(ls "$TMP"/lo/*.json 2>/dev/null | head -1)
net=; note=; [ -n "$f" ] && net=$(jget "$f" '$.target.config.lab_network') && note=$(jget "$f" '$.target.config.lab_note')
check "lab --no-netns: the run file records lab_network loopback and the note" [ "$net" = loopback -a -n "$note" ]

lab orchestrated --collector "$URL" --workers 2 -- --scenarios get --requests 400 --iterations 2 \
  --warmup 20 --concurrency 4 --dataset-size 100 > "$TMP/orch.out" 2>&1
check "lab orchestrated: exits 0" [ $? = 0 ]
check "lab orchestrated: the merged run landed" [ "$(run_count orchestrated)" = 1 ]
check "lab orchestrated: recorded with regions and preset" \
  [ "$(sql "$DB" "select client_region || ',' || server_region || ',' || target_preset from runs where mode = 'orchestrated'")" = "iad,iad,lab" ]
oreq=$(sql "$DB" "select r.requests from results r join runs u on u.id = r.run_id where u.mode = 'orchestrated'")
osum=$(sql "$DB" "select sum(m.value) from result_metrics m join results r on r.id = m.result_id join runs u on u.id = r.run_id where u.mode = 'orchestrated' and m.name like 'worker%_requests'")
ocount=$(sql "$DB" "select m.value from result_metrics m join results r on r.id = m.result_id join runs u on u.id = r.run_id where u.mode = 'orchestrated' and m.name = 'latency_count'")
check "lab orchestrated: requests are the sum over both workers (800)" [ "$oreq" = 800 -a "${osum%.0}" = 800 ]
check "lab orchestrated: the merged histogram holds every request" [ "${ocount%.0}" = 800 ]

lab cluster --collector "$URL" --replicas 2 --lag-samples 100 --read-requests 2000 \
  --read-iterations 2 --read-concurrency 4 -- $RUNARGS > "$TMP/cluster.out" 2>&1
check "lab cluster: exits 0" [ $? = 0 ]
check "lab cluster: one run recorded with regions and preset" \
  [ "$(sql "$DB" "select count(*) || ',' || client_region || ',' || server_region || ',' || target_preset from runs where mode = 'cluster'")" = "1,iad,iad,lab" ]
metric() { sql "$DB" "select m.value from result_metrics m join results r on r.id = m.result_id join runs u on u.id = r.run_id where u.mode = 'cluster' and r.op = 'replication-lag' and m.name = '$1'"; }
lag50=$(metric lag_p50_us)
echo "# cluster: replication lag p50 ${lag50} us, p99 $(metric lag_p99_us) us, max $(metric lag_max_us) us"
check "lab cluster: replication lag p50 > 0" awk -v v="$lag50" 'BEGIN { exit !(v > 0) }'
check "lab cluster: lag metrics p99 and max present" [ -n "$(metric lag_p99_us)" -a -n "$(metric lag_max_us)" ]
check "lab cluster: both replicas in sync" [ "$(metric replicas_in_sync)" = 2.0 -a "$(metric replicas)" = 2.0 ]
check "lab cluster: read scaling on the primary and over the replicas" \
  [ "$(sql "$DB" "select group_concat(params, ' ') from (select r.params from results r join runs u on u.id = r.run_id where u.mode = 'cluster' and r.scenario = 'read-scaling' and r.errors = 0 and r.requests = 4000 order by r.params)")" = '{"read_from":"primary","replicas":"0"} {"read_from":"replicas","replicas":"2"}' ]

# cluster against servers the lab did not start (as fly/deploy.sh cluster does), with AUTH.
start_redis; EXT_P=$REDIS_PORT
# No 5 s wait before the first (diskless) sync: the lab bounds its wait for the replica.
redis-cli -p $EXT_P config set repl-diskless-sync-delay 0 >/dev/null
redis-cli -p $EXT_P config set requirepass ext-pw >/dev/null
start_redis; EXT_R=$REDIS_PORT
redis-cli -p $EXT_R config set masterauth ext-pw >/dev/null
redis-cli -p $EXT_R replicaof 127.0.0.1 $EXT_P >/dev/null
redis-cli -p $EXT_R config set requirepass ext-pw >/dev/null
REDBENCH_TARGET_PASSWORD=ext-pw "$RB" lab cluster --out "$TMP/ext" --run-id ext-cluster-1 --primary 127.0.0.1:$EXT_P \
  --replica 127.0.0.1:$EXT_R --lag-samples 50 --read-requests 500 --read-iterations 1 \
  --read-concurrency 2 -- $RUNARGS > "$TMP/ext.out" 2>&1
check "lab cluster --primary/--replica: exits 0" [ $? = 0 ]
extf=$TMP/ext/ext-cluster-1.json
check "  its run has a replication lag for the 1 given replica" \
  [ "$(jget "$extf" '$.results[#-3].metrics.replicas')" = 1 ]
check "  the servers it did not start still run" \
  sh -c "redis-cli -p $EXT_P -a ext-pw --no-auth-warning ping | grep -q PONG && redis-cli -p $EXT_R -a ext-pw --no-auth-warning ping | grep -q PONG"
"$RB" lab single --out "$TMP/ext2" --primary 127.0.0.1:$EXT_P --replica 127.0.0.1:$EXT_R > "$TMP/ext2.out" 2>&1
check "  --primary with another mode: exit 2" [ $? = 2 ]

# ---- teardown, also when interrupted ----
if [ $ROOT = 1 ]; then
  "$RB" lab multi-region --out "$TMP/int" --regions far=500 -- --scenarios get --requests 100000 --quiet \
    > "$TMP/int.out" 2>&1 &
  LPID=$!
  LABPIDS="$LABPIDS $LPID"
  for i in $(seq 1 600); do ip netns list | grep -q "rbl$LPID-c-far" && break; sleep 0.05; done # at most 30 s
  sleep 0.5
  kill -TERM $LPID
  wait $LPID
  check "lab: SIGTERM mid-run exits 130" [ $? = 130 ]
  check "lab: SIGTERM mid-run leaves no namespace" sh -c "! ip netns list | grep -q rbl$LPID-"
fi
left=; procs=
for p in $LABPIDS; do
  left="$left$( (ip netns list 2>/dev/null || true) | grep "^rbl$p-")"
  procs="$procs$(pgrep -f "rbl$p-" || true)"
done
check "lab: no namespace left behind" [ -z "$left" ]
check "lab: no process left behind" [ -z "$procs$(pgrep -f "$LABTMP" || true)" ]
check "lab: every process it started stopped with 0 at teardown" sh -c "! grep -h 'exited with' $TMP/*.out"
check "lab: temporary directories removed" [ -z "$(ls -A "$LABTMP")" ]
check "collector: exits 0 on SIGTERM" stop_collector
finish
