# test_pagecache.sh -- the collector's page cache: a repeated GET of a page or of the read
# API is answered from the cache with the same body, a write (an upload, a triage) makes the
# next answer fresh, answers are kept per role (an admin's page is not an anonymous one's),
# errors are never kept, entries expire after --page-cache-ms, and 0 turns the cache off.
. "$(dirname "$0")/lib.sh"

DB=$TMP/pc.db
start_redis
start_collector "$DB"
# (Then no analysis is left to commit, and to refresh the cache, between two GETs.)
run_one() { "$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios get --concurrency 1 --requests 300 \
  --iterations 2 --warmup 10 --dataset-size 50 --quiet --collector "$URL" "$@" > /dev/null; analyzed "$DB"; }
run_one --run-id pc-run-a --commit aaaa1111
check "a run is uploaded" [ "$(sql "$DB" "select count(*) from runs")" = 1 ]

# get PATH OUT [CURL ARGS]: the body to OUT, prints the X-Redbench-Cache header (or none).
get() {
  p=$1 out=$2; shift 2
  curl -s -m 30 -D "$TMP/h" -o "$out" "$@" "$URL$p"
  v=$(tr -d '\r' < "$TMP/h" | sed -n 's/^X-Redbench-Cache: //Ip')
  echo "${v:-none}"
}
for p in /runs/pc-run-a /api/v1/runs /api/v1/runs/pc-run-a / "/trends?key=x&metric=p99_us"; do
  a=$(get "$p" "$TMP/1"); b=$(get "$p" "$TMP/2")
  check "GET $p: made anew, then from the cache ($a, $b)" [ "$a $b" = "miss hit" ]
  check "GET $p: the cached body is the same" cmp -s "$TMP/1" "$TMP/2"
done
check "/metrics counts the hits and misses" sh -c \
  "curl -s '$URL/metrics' | grep -q '^redbench_page_cache_hits_total [1-9]' && curl -s '$URL/metrics' | grep -q '^redbench_page_cache_misses_total [1-9]'"

# A write makes the next answer fresh.
get / "$TMP/o1" > /dev/null
run_one --run-id pc-run-b --commit bbbb2222
s=$(get / "$TMP/o2")
check "after an upload the overview is made anew ($s) and lists the new run" \
  sh -c "[ '$s' = miss ] && grep -q 'pc-run-b' '$TMP/o2' && ! grep -q 'pc-run-b' '$TMP/o1'"
s=$(get /api/v1/runs "$TMP/l2")
check "after an upload GET /api/v1/runs is fresh ($s) with both runs" \
  sh -c "[ '$s' = miss ] && grep -q 'pc-run-b' '$TMP/l2'"

# Per role: a logged-in admin gets a page of its own (with "Log out"), not the anonymous one.
get /runs/pc-run-a "$TMP/anon" > /dev/null
s=$(get /runs/pc-run-a "$TMP/adm" -H "Cookie: redbench_token=$REDBENCH_TOKEN")
check "an admin's page is made for the admin ($s), not taken from the anonymous one" \
  sh -c "[ '$s' = miss ] && grep -q 'Log out' '$TMP/adm' && ! grep -q 'Log out' '$TMP/anon'"
s=$(get /runs/pc-run-a "$TMP/adm2" -H "Cookie: redbench_token=$REDBENCH_TOKEN")
check "the admin's page is then kept for the admin ($s)" [ "$s" = hit ]

# Errors are never kept.
a=$(get /runs/nope "$TMP/n1"); b=$(get /runs/nope "$TMP/n2")
check "a 404 is never answered from the cache ($a, $b)" [ "$b" != hit ]
check "the collector exits 0 on SIGTERM" stop_collector

# Time to live, and off.
# 2 s: the second GET must come within it even on a loaded machine.
start_collector "$DB" --page-cache-ms 2000
a=$(get /api/v1/runs "$TMP/t1"); b=$(get /api/v1/runs "$TMP/t2"); sleep 2.5; c=$(get /api/v1/runs "$TMP/t3")
check "--page-cache-ms 2000: kept, then made anew once 2000 ms passed ($a $b $c)" [ "$a $b $c" = "miss hit miss" ]
check "the collector exits 0 on SIGTERM (ttl)" stop_collector
start_collector "$DB" --page-cache-ms 0
a=$(get /api/v1/runs "$TMP/z1"); b=$(get /api/v1/runs "$TMP/z2")
check "--page-cache-ms 0: no cache ($a $b)" [ "$a $b" = "none none" ]
check "the collector exits 0 on SIGTERM (off)" stop_collector
finish
