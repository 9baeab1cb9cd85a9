#!/bin/sh
# collector_bench.sh -- the collector's performance goals (issue 4), measured:
#  1. ingest: 16 concurrent HTTP uploaders of 100-result runs vs a plain C loop
#     storing the same runs with the same durability (bench/ingest_loop.c),
#     and how fast the collector's analysis thread judges them (it works after
#     the acks: the uploader waits until its queue is empty);
#  2. reads with 1,000,000 results stored: GET /api/v1/runs, a series query
#     (POST /api/v1/query) and GET /api/v1/runs/{id}, p99 at 32 connections
#     with wrk, and the collector's RSS after the load.
# Prints a Markdown section and puts it in bench/RESULTS.md in place of the
# previous "## Collector: ingest and reads" section (appended if there is none). 127.0.0.1 only;
# stops what it started and removes its files on exit. About 3-4 minutes.
# Usage: sh bench/collector_bench.sh BUILD_DIR   (make bench does this)
# Environment: BENCH_RUN (template run JSON, default tests/fixtures/compare/old1.json),
# BENCH_INGEST_RUNS (runs per ingest side, default 200), BENCH_FILL_RUNS (runs
# of 100 results in the read warehouse, default 10000), BENCH_WRK_SECONDS (per
# endpoint, default 12), BENCH_RESULTS (output file, default bench/RESULTS.md),
# BENCH_SERVE_ARGS (extra `redbench serve` options, e.g. --page-cache-ms 0).
set -u

[ $# -eq 1 ] || { echo "usage: sh bench/collector_bench.sh BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$1" && pwd) || exit 2
RB=$BUILD/redbench LOOP=$BUILD/ingest_loop
for b in "$RB" "$LOOP"; do [ -x "$b" ] || { echo "bench: $b missing (make bench builds it)" >&2; exit 2; }; done
TEMPLATE=${BENCH_RUN:-$HERE/../tests/fixtures/compare/old1.json}
RUNS=${BENCH_INGEST_RUNS:-200}
FILL=${BENCH_FILL_RUNS:-10000}
SECS=${BENCH_WRK_SECONDS:-12}
OUT=${BENCH_RESULTS:-$HERE/RESULTS.md}
for v in "$RUNS" "$FILL" "$SECS"; do
  case $v in ''|*[!0-9]*) echo "bench: BENCH_INGEST_RUNS, BENCH_FILL_RUNS and BENCH_WRK_SECONDS are whole numbers" >&2; exit 2;; esac
done
[ "$SECS" -ge 1 ] && [ "$SECS" -le 60 ] || { echo "bench: BENCH_WRK_SECONDS must be 1..60" >&2; exit 2; }

. "$HERE/lib.sh"
bench_tools sqlite3 curl awk
bench_setup cbench
bounded() { timeout 600 "$@" </dev/null; }

REDBENCH_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export REDBENCH_TOKEN
# Starts the collector on db $1 at a free loopback port; sets URL and SERVE_PID.
start_serve() {
  # shellcheck disable=SC2086 # BENCH_SERVE_ARGS: extra serve options
  "$RB" serve --db "$1" --listen 127.0.0.1:0 ${BENCH_SERVE_ARGS:-} >"$WORK/serve.out" 2>>"$WORK/serve.err" &
  SERVE_PID=$!
  i=0 URL=""
  while [ $i -lt 100 ] && [ -z "$URL" ]; do
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; die "the collector did not start"; }
    URL=$(sed -n 's,.*listening on \(http://[^ ]*\).*,\1,p' "$WORK/serve.out")
    [ -n "$URL" ] || sleep 0.1
    i=$((i + 1))
  done
  [ -n "$URL" ] || die "the collector printed no address"
}
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; } # field NAME < "a=1 NAME=2"

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

# ---- 1. ingest: the loop, then HTTP, each into a fresh warehouse ----
log "bench: ingest: $RUNS runs of 100 results, C loop then 16 HTTP uploaders"
L=$(bounded "$LOOP" loop "$TEMPLATE" "$WORK/loop.db" "$RUNS") || die "ingest_loop loop failed"
start_serve "$WORK/http.db"
H=$(bounded "$LOOP" upload "$TEMPLATE" "$URL" "$RUNS" 16) || die "ingest_loop upload failed"
stop_serve
LOOP_RPS=$(echo "$L" | field rows_per_s) HTTP_RPS=$(echo "$H" | field rows_per_s)
LOOP_S=$(echo "$L" | field seconds) HTTP_S=$(echo "$H" | field seconds)
AN_S=$(echo "$H" | field analysed_s) AN_RPS=$(echo "$H" | field analysed_runs_per_s)
STORED=$(sqlite3 "$WORK/http.db" "SELECT count(*) FROM results")
[ "$STORED" = $((RUNS * 100)) ] || die "the collector stored $STORED results, want $((RUNS * 100))"
RATIO=$(awk -v a="$HTTP_RPS" -v b="$LOOP_RPS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
log "bench: loop $LOOP_RPS rows/s, HTTP $HTTP_RPS rows/s, ratio $RATIO; all analysed after $AN_S s ($AN_RPS runs/s)"
rm -f "$WORK"/loop.db* "$WORK"/http.db*

# ---- 2. reads with FILL x 100 results ----
log "bench: filling a warehouse with $FILL runs x 100 results"
F=$(bounded "$LOOP" fill "$TEMPLATE" "$WORK/big.db" "$FILL") || die "ingest_loop fill failed"
FILL_S=$(echo "$F" | field seconds)
NRES=$(sqlite3 "$WORK/big.db" "SELECT count(*) FROM results")
DBMB=$(du -m "$WORK/big.db" | cut -f1)
KEY=$(sqlite3 "$WORK/big.db" "SELECT series_key FROM results WHERE run_id = (SELECT max(id) FROM runs) LIMIT 1")
RUNID=$(sqlite3 "$WORK/big.db" "SELECT max(id) FROM runs")
SERIES_SQL="SELECT r.started_at, r.commit_sha, x.ops_per_sec, x.p50_us, x.p99_us FROM results x JOIN runs r ON r.id = x.run_id WHERE x.series_key = '$KEY' AND r.branch = 'main' ORDER BY r.started_at DESC LIMIT 100"
start_serve "$WORK/big.db"
SERVE_RSS0=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVE_PID/status")
cat > "$WORK/query.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"sql": "$SERIES_SQL"}]]
EOF
# The answers must be right before their speed counts.
AUTH="Authorization: Bearer $REDBENCH_TOKEN"
curl -sf -H "$AUTH" "$URL/api/v1/runs" | grep -q "\"id\":\"$RUNID\"" || die "GET /api/v1/runs lacks $RUNID"
N=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' --data "{\"sql\": \"$SERIES_SQL\"}" -D - -o /dev/null "$URL/api/v1/query" |
    tr -d '\r' | sed -n 's/^X-Redbench-Rows: //Ip')
WANT=$((FILL / 10 < 100 ? FILL / 10 : 100)) # ingest_loop fill: 10 groups of series
[ "$N" = "$WANT" ] || die "the series query returned ${N:-no} rows, want $WANT"
curl -sf -H "$AUTH" "$URL/api/v1/runs/$RUNID" | grep -q "\"run_id\":\"$RUNID\"" || die "GET /api/v1/runs/$RUNID failed"

# wrk_p99 NAME PATH [lua]: appends "NAME req/s p50_ms p99_ms errors" to $WORK/reads.
wrk_one() {
  name=$1 path=$2
  shift 2
  bounded wrk -t2 -c32 -d"${SECS}s" --latency -H "$AUTH" "$@" "$URL$path" >"$WORK/wrk.out" 2>&1 ||
    { cat "$WORK/wrk.out" >&2; die "wrk failed on $path"; }
  awk -v n="$name" '
    function ms(s) { if (s ~ /us$/) return s * 0.001; if (s ~ /ms$/) return s + 0; if (s ~ /s$/) return s * 1000; return s }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { bad += $NF } /Socket errors/ { bad += 1 }
    END { printf "%s %.0f %.2f %.2f %d\n", n, rps, p50, p99, bad }' "$WORK/wrk.out" >> "$WORK/reads"
  log "bench: $(tail -n 1 "$WORK/reads")"
}
: > "$WORK/reads"
log "bench: reads with $NRES results stored, 32 connections, $SECS s each"
wrk_one "GET /api/v1/runs" /api/v1/runs
wrk_one "POST /api/v1/query (series)" /api/v1/query -s "$WORK/query.lua"
wrk_one "GET /api/v1/runs/{id}" "/api/v1/runs/$RUNID"
RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVE_PID/status")
HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVE_PID/status")
stop_serve
ELAPSED=$(( $(date +%s) - T0 ))

# ---- the section ----
SECTION=$WORK/section.md
{
  echo
  echo "## Collector: ingest and reads"
  echo
  echo "\`${BENCH_SERVE_ARGS:+BENCH_SERVE_ARGS='$BENCH_SERVE_ARGS' }sh bench/collector_bench.sh build\` (\`make bench\`), $START, ${ELAPSED} s; nproc $(nproc);"
  echo "load average at the start $LOAD0, at the end $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: the"
  echo "loop and HTTP sides run back to back, so both see about the same load);"
  echo "$("$RB" --version 2>/dev/null). Runs are \`$(basename "$TEMPLATE")\`'s results repeated to 100, each with its own"
  echo "\`dataset_size\` (its own series key), under distinct run ids, an hour apart on branch main."
  echo
  echo "### Ingest ($RUNS runs x 100 results each side, fresh warehouses; rows = results)"
  echo
  echo "| path | seconds | rows/s |"
  echo "| --- | ---: | ---: |"
  echo "| C loop: store_open, BEGIN IMMEDIATE + store_insert_run + COMMIT per run, synchronous=FULL | $LOOP_S | $LOOP_RPS |"
  echo "| HTTP: 16 uploaders POST /api/v1/runs (validation, canonical form, synchronous=FULL commit, ack; analysis thread running meanwhile) | $HTTP_S | $HTTP_RPS |"
  echo "| **ratio HTTP / loop** (goal >= 0.70) | | **$RATIO** |"
  echo
  echo "Analysis (verdicts, change points, run summary; after the acks, nice 10): all $RUNS runs judged"
  echo "${AN_S} s after the first upload, **$AN_RPS runs analysed per second** (each against up to 30"
  echo "earlier runs of its 100 series; change points refreshed once per series and batch)."
  echo
  echo "### Reads ($NRES results in $FILL runs, ${DBMB} MB; wrk -t2 -c32 -d${SECS}s)"
  echo
  echo "| request | req/s | p50 ms | p99 ms | non-2xx/errors | goal p99 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  awk '{ n = $0; sub(/ [^ ]+ [^ ]+ [^ ]+ [^ ]+$/, "", n); k = split($0, f, " ");
         printf "| %s | %s | %s | %s | %s | <= 10 |\n", n, f[k-3], f[k-2], f[k-1], f[k] }' "$WORK/reads"
  echo
  echo "Collector RSS: $((SERVE_RSS0 / 1024)) MB after start, **$((RSS / 1024)) MB after the load** (VmRSS; peak VmHWM"
  echo "$((HWM / 1024)) MB; goal <= 64 MB). Fill: $FILL runs in ${FILL_S} s (100 runs a transaction, synchronous=OFF,"
  echo "marked analysed without verdicts, so the collector has no backlog to judge during the reads)."
  echo "The series query: \`$SERIES_SQL\`"
  echo
  echo "How the collector gets there (docs/api.md): an upload is acknowledged after its own commit;"
  echo "uploads that reach the writer together share one transaction and one fsync (group commit, a"
  echo "savepoint each); histograms are validated and summarized without being built, and stored as"
  echo "sent; the canonical document is written once, directly. Verdicts, change points and the run"
  echo "summary come from the analysis thread afterwards (the analysis line above). GET /api/v1/runs"
  echo "reads the summary columns of runs through the covering index runs_list; GET /api/v1/runs/{id}"
  echo "sends the stored document as it is stored."
} > "$SECTION"
cat "$SECTION"
if grep -q '^## Collector: ingest and reads' "$OUT" 2>/dev/null; then
  # Replace the previous section (up to the next "## " heading) with this one.
  awk -v sec="$SECTION" '
    /^## Collector: ingest and reads/ { n = 0; while ((getline l < sec) > 0) if (n++ || l != "") print l; skip = 1; next }
    skip && /^## / { skip = 0; print ""; }
    !skip { print }' "$OUT" > "$WORK/results.md" && cat "$WORK/results.md" > "$OUT" || die "cannot write $OUT"
  log "bench: replaced the collector section of $OUT (${ELAPSED} s)"
else
  cat "$SECTION" >> "$OUT" || die "cannot append to $OUT"
  log "bench: appended the collector section to $OUT (${ELAPSED} s)"
fi
