#!/bin/bash
# test_modes_cost.sh -- the /modes, /cost and /benchmarks pages against a real
# redis-server and a real collector: runs uploaded by `redbench run` in mode
# single and client-server (through the delay proxy, a real network cost) with
# machine presets; the numbers shown equal what sqlite3 computes from the
# warehouse; the cheapest preset for a throughput; a real orchestrated
# benchmark run by a `redbench worker`; 404 and empty-warehouse answers; HTML
# in preset and region names shown as text.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

# page PATH: fetches PATH into $TMP/page.html, prints the HTTP status.
page() { curl -s -m 30 -o "$TMP/page.html" -w '%{http_code}' "$URL$1"; }
# rows: the fetched page with one <tr ...>...</tr> per line.
rows() { tr -d '\n' < "$TMP/page.html" | sed 's/<tr /\n<tr /g; s/<\/tr>/<\/tr>\n/g'; }
# cell ROWPATTERN CLASS: the text of the first cell of CLASS in the first row matching ROWPATTERN.
cell() { rows | grep -F -- "$1" | head -1 | sed -n "s/.*class=\"$2\">\([^<]*\)<.*/\1/p"; }
has() { grep -qF -- "$1" "$TMP/page.html"; }

# ---- an empty warehouse ----
check "empty: /modes is 200" test "$(page /modes)" = 200
check "  ... and says there is nothing yet" has "No results for"
check "empty: /cost is 200" test "$(page '/cost?need=1000')" = 200
check "  ... with the prices in effect and their source" has "fly.io/docs/about/pricing"
check "  ... and no answer for a throughput" has 'class="answer none"'
check "empty: /benchmarks is 200" test "$(page /benchmarks)" = 200
check "an unknown benchmark is 404" test "$(page '/benchmarks/no-such-id')" = 404
check "  ... naming the id" has "no-such-id"

# ---- runs: two single presets, one client-server through the delay proxy ----
# 1 ms more per round trip: far beyond what a loaded machine adds to the single runs.
"$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 500 --max-seconds 300 > "$TMP/proxy.out" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/proxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
check "delay proxy is listening" test -n "$PPORT"

bench() { # bench PORT OUT ARGS...: one run of set,get uploaded to the collector
  port=$1 out=$2; shift 2
  "$RB" run --target "127.0.0.1:$port" --scenarios set,get --concurrency 4 --requests 2000 \
    --iterations 2 --warmup 200 --dataset-size 500 --quiet --server-region iad \
    --collector "$URL" --out "$out" "$@" > /dev/null
}
check "single run (performance-1x) uploads" \
  bench "$REDIS_PORT" "$TMP/s1.json" --mode single --client-region iad --preset performance-1x
check "single run (shared-cpu-2x) uploads" \
  bench "$REDIS_PORT" "$TMP/s2.json" --mode single --client-region iad --preset shared-cpu-2x
check "client-server run through the proxy uploads" \
  bench "$PPORT" "$TMP/cs.json" --mode client-server --client-region fra --preset performance-16x
S1=$(jget "$TMP/s1.json" '$.run_id'); S2=$(jget "$TMP/s2.json" '$.run_id'); CS=$(jget "$TMP/cs.json" '$.run_id')

# ---- /modes ----
check "/modes is 200" test "$(page '/modes?project=default&branch=main')" = 200
check "  ... shows single and client-server" \
  sh -c "grep -q 'data-mode=\"single\"' '$TMP/page.html' && grep -q 'data-mode=\"client-server\"' '$TMP/page.html'"
check "  ... the single reference is the latest single run (shared-cpu-2x)" \
  test -n "$(rows | grep -F 'data-mode="single"' | grep -F "/runs/$S2")"
check "  ... and not the older one" test -z "$(rows | grep -F "/runs/$S1")"
# The warehouse's own numbers for the get cell of each run.
q_get() { sql "$DB" "SELECT $2 FROM results WHERE run_id='$1' AND op='get'"; }
CSROW='data-series="get/get mode&#61;client-server region&#61;fra&gt;iad preset&#61;performance-16x'
SROW='data-series="get/get mode&#61;single region&#61;iad&gt;iad preset&#61;shared-cpu-2x'
check "client-server ops/s equal the warehouse's" test "$(cell "$CSROW" ops)" = "$(q_get "$CS" "printf('%.0f', ops_per_sec)")"
check "client-server p99 equals the warehouse's" test "$(cell "$CSROW" p99)" = "$(q_get "$CS" "printf('%.1f', p99_us)")"
check "single p50 equals the warehouse's" test "$(cell "$SROW" p50)" = "$(q_get "$S2" "printf('%.1f', p50_us)")"
ADD50=$(sql "$DB" "SELECT printf('%+.1f', c.p50_us - s.p50_us) FROM results c, results s WHERE c.run_id='$CS' AND c.op='get' AND s.run_id='$S2' AND s.op='get'")
ADD99=$(sql "$DB" "SELECT printf('%+.1f', c.p99_us - s.p99_us) FROM results c, results s WHERE c.run_id='$CS' AND c.op='get' AND s.run_id='$S2' AND s.op='get'")
VSOPS=$(sql "$DB" "SELECT printf('%+.1f%%', (c.ops_per_sec / s.ops_per_sec - 1) * 100) FROM results c, results s WHERE c.run_id='$CS' AND c.op='get' AND s.run_id='$S2' AND s.op='get'")
check "added p50 = client-server p50 - single p50 ($ADD50 µs)" test "$(cell "$CSROW" 'num overhead-p50')" = "$ADD50"
check "added p99 = client-server p99 - single p99 ($ADD99 µs)" test "$(cell "$CSROW" 'num overhead-p99')" = "$ADD99"
check "throughput vs single ($VSOPS)" test "$(cell "$CSROW" 'num overhead-ops')" = "$VSOPS"
check "the proxy's round trip shows as added latency" \
  test "$(sql "$DB" "SELECT c.p50_us > s.p50_us FROM results c, results s WHERE c.run_id='$CS' AND c.op='get' AND s.run_id='$S2' AND s.op='get'")" = 1
check "client-server cost equals the cost_per_op view" \
  test "$(cell "$CSROW" cost)" = "$(sql "$DB" "SELECT printf('\$%.4f', c.usd_per_mop) FROM cost_per_op c JOIN results r ON r.id=c.result_id WHERE r.run_id='$CS' AND r.op='get'")"
check "the single row has no overhead of its own" test "$(cell "$SROW" 'num overhead-ops')" = reference
check "one bar chart per operation" test "$(grep -o '<svg class="bars"' "$TMP/page.html" | wc -l)" = 2
check "/modes?op=set shows only set" \
  sh -c "test \"\$(curl -s '$URL/modes?op=set' | grep -c 'data-series=\"get/')\" = 0 && curl -s '$URL/modes?op=set' | grep -q 'data-series=\"set/'"
check "/modes of an unknown branch is 200 and empty" \
  sh -c "test \"\$(curl -s -o '$TMP/nb.html' -w '%{http_code}' '$URL/modes?branch=nope')\" = 200 && grep -q 'No results for' '$TMP/nb.html'"

# ---- /cost ----
check "/cost is 200" test "$(page '/cost?op=get')" = 200
for R in "$S1" "$S2" "$CS"; do
  P=$(sql "$DB" "SELECT target_preset FROM runs WHERE id='$R'")
  EXP=$(sql "$DB" "SELECT printf('\$%.4f', c.usd_per_mop) FROM cost_per_op c JOIN results r ON r.id=c.result_id WHERE r.run_id='$R' AND r.op='get'")
  EXPH=$(sql "$DB" "SELECT printf('\$%.4f', c.usd_per_second * 3600) FROM cost_per_op c JOIN results r ON r.id=c.result_id WHERE r.run_id='$R' AND r.op='get'")
  check "cost of $P equals cost_per_op ($EXP per M ops, $EXPH per hour)" \
    sh -c "test '$(cell "data-preset=\"$P\"" cost)' = '$EXP' && test '$(cell "data-preset=\"$P\"" 'num usd-hour')' = '$EXPH'"
done
check "the performance-16x price row has its date" \
  test -n "$(rows | grep -F 'data-preset="performance-16x"' | grep -F '2025-08-19' | grep -F 'in effect')"
TREND=$(sed -n 's/.*<a class="trend" href="\([^"]*\)".*/\1/p' "$TMP/page.html" | head -1 | sed 's/&amp;/\&/g')
check "each row links its cost over time" sh -c "echo '$TREND' | grep -q '^/trends?.*key=.*metric=cost'"
check "  ... and the link answers 200" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL$TREND")" = 200
# The cheapest preset reaching a throughput, as sqlite3 finds it.
cheapest() {
  sql "$DB" "SELECT coalesce((SELECT u.target_preset FROM cost_per_op c JOIN results r ON r.id=c.result_id
             JOIN runs u ON u.id=r.run_id WHERE r.run_id IN ('$S1','$S2','$CS') AND r.op='get'
             AND r.ops_per_sec >= $1 AND c.usd_per_mop IS NOT NULL
             ORDER BY c.usd_per_second, c.usd_per_mop LIMIT 1), 'none')"
}
for NEED in 1 $(q_get "$CS" "CAST(ops_per_sec AS INTEGER) + 1") $(q_get "$S1" "CAST(ops_per_sec AS INTEGER)") 1000000000; do
  page "/cost?op=get&need=$NEED" > /dev/null
  GOT=$(tr -d '\n' < "$TMP/page.html" | sed -n 's/.*<strong class="preset">\([^<]*\)<.*/\1/p')
  has 'class="answer none"' && GOT=none
  EXP=$(cheapest "$NEED")
  check "cheapest for $NEED ops/s of get is $EXP" test "$GOT" = "$EXP"
done
check "a bad throughput is explained, not an error" test "$(page '/cost?need=lots')" = 200
check "  ... with a message" has "must be a number"

# ---- an orchestrated benchmark ----
api_post() { curl -s -m 30 -o "$TMP/api.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
  -H 'Content-Type: application/json' --data-binary "$2" "$URL$1"; }
PLAN='{"target":"127.0.0.1:'$REDIS_PORT'","scenarios":"get","concurrency":[2],"iterations":1,
       "requests":2000,"warmup":100,"workers":1,"start_delay":1,"branch":"main","project":"default",
       "server_region":"iad","client_region":"iad"}'
check "benchmark start is 201" test "$(api_post /benchmark/start "$PLAN")" = 201
BID=$(jget "$TMP/api.body" '$.id')
check "/benchmarks/{id} is 200 while queued" test "$(page "/benchmarks/$BID")" = 200
check "  ... shows its task queued" has 'data-task="0" data-state="queued"'
check "  ... and reloads itself while it runs" has 'data-live="2"'
check "  ... with its plan" has "127.0.0.1:$REDIS_PORT"
"$RB" worker --collector "$URL" --name mcw1 --once --idle-exit 30 > "$TMP/w.out" 2> "$TMP/w.err"
check "the worker ends its one task" test $? = 0
ST=""
for i in $(seq 1 600); do # at most 120 s
  curl -s -m 10 -o "$TMP/st.json" "$URL/benchmark/status/$BID"
  ST=$(jget "$TMP/st.json" '$.status'); [ "$ST" = complete ] || [ "$ST" = failed ] && break; sleep 0.2
done
check "the benchmark completes" test "$ST" = complete
check "/benchmarks/{id} shows the final state" test "$(page "/benchmarks/$BID")" = 200
check "  ... the task done by its lease holder after 1 attempt" \
  test -n "$(rows | grep -F 'data-task="0" data-state="done"' | grep -F '>mcw1<' | grep -F 'class="num">1<')"
check "  ... links the merged run" has "href=\"/runs/orch-$BID\""
check "  ... and no longer reloads" sh -c "! grep -q 'data-live' '$TMP/page.html'"
check "/benchmarks lists it as complete" \
  sh -c "test \"\$(curl -s -o '$TMP/bl.html' -w '%{http_code}' '$URL/benchmarks')\" = 200 && tr -d '\n' < '$TMP/bl.html' | grep -q 'data-benchmark=\"$BID\">[^/]*/benchmarks/$BID\"[^<]*</a></td><td><span class=\"badge complete\"'"
check "/modes shows the orchestrated run" sh -c "curl -s '$URL/modes' | grep -q 'data-mode=\"orchestrated\"'"

# A schedule that missed due times is flagged (rows written as the scheduler would).
sql "$DB" "INSERT INTO schedules(cron, plan, enabled, created_at, next_due_ms, missed) VALUES
           ('*/5 * * * *', '{}', 0, '2026-01-01T00:00:00Z', NULL, 2);
           INSERT INTO schedule_misses(schedule_id, due_at, benchmark_id, reason)
           VALUES (last_insert_rowid(), '2026-01-01T00:05:00Z', '$BID', 'previous benchmark still running');"
check "/benchmarks flags a schedule's misses" \
  sh -c "curl -s '$URL/benchmarks' | tr -d '\n' | grep -q 'class=\"missed\".*2 missed.*previous benchmark still running'"

# ---- HTML in preset and region names is shown as text ----
XP='<script>alert(1)</script>'
XR='"><img src=x onerror=alert(2)>'
check "a run with HTML in its preset and client region uploads" \
  bench "$REDIS_PORT" "$TMP/x.json" --mode multi-region --client-region "$XR" --preset "$XP"
for P in /modes /cost; do
  page "$P" > /dev/null
  check "$P shows the payload escaped" has '&lt;script&gt;alert(1)&lt;/script&gt;'
  check "$P never emits it as markup" sh -c "! grep -qF -e '<script>alert' -e '<img src=x' '$TMP/page.html'"
done

check "the collector exits 0 on SIGTERM" stop_collector
finish
