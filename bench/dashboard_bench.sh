#!/bin/sh
# dashboard_bench.sh -- the dashboard's performance goal (issue 6), measured: with
# 1,000,000 results stored (bench/ingest_loop.c fill), wrk -t2 -c32 at every page
# that exists -- overview, a run page, a series trend page (the run page's own
# link), compare, modes, cost, sql, trends without a series, benchmarks (one
# queued benchmark started for it) -- giving req/s and
# wrk's p50/p99, plus the collector's own time per request (its access log's
# ms=), against the goal p99 <= 50 ms. A page that does not answer 200 is listed,
# not measured. Prints a Markdown section and appends it to bench/RESULTS.md.
# 127.0.0.1 only; stops what it started and removes its files on exit (except
# BENCH_DB). About 2 minutes to fill, then BENCH_WRK_SECONDS per page.
# Usage: sh bench/dashboard_bench.sh BUILD_DIR   (make bench does this)
# Environment: BENCH_RUN (template run JSON, default tests/fixtures/compare/old1.json),
# BENCH_FILL_RUNS (runs of 100 results, default 10000 = 1,000,000 results),
# BENCH_WRK_SECONDS (per page, default 10), BENCH_RESULTS (output file, default
# bench/RESULTS.md), BENCH_DB (keep the filled warehouse at this path and reuse it
# when it exists: repeated runs skip the fill), BENCH_SERVE_ARGS (extra `redbench serve`
# options, e.g. --page-cache-ms 0 to measure the pages without the page cache).
set -u

[ $# -eq 1 ] || { echo "usage: sh bench/dashboard_bench.sh BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$1" && pwd) || exit 2
RB=$BUILD/redbench LOOP=$BUILD/ingest_loop
for b in "$RB" "$LOOP"; do [ -x "$b" ] || { echo "bench: $b missing (make bench builds it)" >&2; exit 2; }; done
TEMPLATE=${BENCH_RUN:-$HERE/../tests/fixtures/compare/old1.json}
FILL=${BENCH_FILL_RUNS:-10000}
SECS=${BENCH_WRK_SECONDS:-10}
OUT=${BENCH_RESULTS:-$HERE/RESULTS.md}
for v in "$FILL" "$SECS"; do
  case $v in ''|*[!0-9]*) echo "bench: BENCH_FILL_RUNS and BENCH_WRK_SECONDS are whole numbers" >&2; exit 2;; esac
done
[ "$FILL" -ge 20 ] || { echo "bench: BENCH_FILL_RUNS must be at least 20" >&2; exit 2; }
[ "$SECS" -ge 1 ] && [ "$SECS" -le 60 ] || { echo "bench: BENCH_WRK_SECONDS must be 1..60" >&2; exit 2; }

. "$HERE/lib.sh"
bench_tools sqlite3 curl awk sort
bench_setup dbench
bounded() { timeout 900 "$@" </dev/null; }

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the warehouse: FILL runs x 100 results ----
DB=${BENCH_DB:-$WORK/big.db}
if [ -n "${BENCH_DB:-}" ] && [ -s "$DB" ] &&
   [ "$(sqlite3 "$DB" 'SELECT count(*) FROM runs' 2>/dev/null)" = "$FILL" ]; then
  log "bench: reusing $DB"
  FILL_NOTE="reused $DB"
else
  rm -f "$DB" "$DB-wal" "$DB-shm"
  log "bench: filling a warehouse with $FILL runs x 100 results"
  F=$(bounded "$LOOP" fill "$TEMPLATE" "$DB" "$FILL") || die "ingest_loop fill failed"
  FILL_NOTE="filled in $(echo "$F" | sed -n 's/.*seconds=\([^ ]*\).*/\1/p') s"
fi
NRES=$(sqlite3 "$DB" "SELECT count(*) FROM results")
DBMB=$(du -m "$DB" | cut -f1)
RUNID=$(sqlite3 "$DB" "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
# The run before it measuring the same series (ingest_loop fill: 10 groups of series).
BASEID=$(sqlite3 "$DB" "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1 OFFSET 10")
KEY=$(sqlite3 "$DB" "SELECT series_key FROM results WHERE run_id = '$RUNID' ORDER BY id LIMIT 1")
POINTS=$(sqlite3 "$DB" "SELECT count(*) FROM results WHERE series_key = '$(echo "$KEY" | sed "s/'/''/g")'")

# ---- the collector ----
REDBENCH_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export REDBENCH_TOKEN
AUTH="Authorization: Bearer $REDBENCH_TOKEN"
# shellcheck disable=SC2086 # BENCH_SERVE_ARGS: extra serve options, e.g. --page-cache-ms 0
"$RB" serve --db "$DB" --listen 127.0.0.1:0 ${BENCH_SERVE_ARGS:-} >"$WORK/serve.out" 2>>"$WORK/serve.err" &
SERVE_PID=$!
i=0 URL=""
while [ $i -lt 100 ] && [ -z "$URL" ]; do
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; die "the collector did not start"; }
  URL=$(sed -n 's,.*listening on \(http://[^ ]*\).*,\1,p' "$WORK/serve.out")
  [ -n "$URL" ] || sleep 0.1
  i=$((i + 1))
done
[ -n "$URL" ] || die "the collector printed no address"

# get PATH: the status of GET PATH; the page in $WORK/page.html.
get() { curl -s -m 30 -o "$WORK/page.html" -w '%{http_code}' -H "$AUTH" "$URL$1"; }
# The run page must be right (its matrix holds the run's results) before its speed counts.
[ "$(get "/runs/$RUNID")" = 200 ] || die "GET /runs/$RUNID is not 200"
ROWS=$(grep -c '<tr[^>]*data-series=' "$WORK/page.html")
[ "$ROWS" = 100 ] || log "bench: the run page shows $ROWS result rows, want 100"
# The series trend page as the run page links it (first row), else by query parameter.
TREND=$(grep -o 'href="/trends?[^"]*"' "$WORK/page.html" | head -n 1 | sed 's/^href="//; s/"$//; s/&amp;/\&/g')
[ -n "$TREND" ] || TREND="/trends?key=$(printf '%s' "$KEY" | sed 's/%/%25/g; s/ /%20/g; s/\//%2F/g; s/=/%3D/g; s/>/%3E/g')"
# The fill's runs belong to the template's project: say so when the link does not.
PROJECT=$(sqlite3 "$DB" "SELECT project FROM runs WHERE id = '$RUNID'")
case $TREND in *project=*) ;; *) TREND="$TREND&project=$PROJECT" ;; esac
[ "$(get "$TREND")" = 200 ] || die "GET $TREND is not 200"
SHOWN=$(grep -o '<circle class="pt"' "$WORK/page.html" | wc -l)
[ "$SHOWN" -gt 0 ] || log "bench: the trend page $TREND draws no point"

# An orchestrated benchmark for /benchmarks/{id}: queued (no worker leases it), two tasks.
BENCH_ID=$(curl -s -m 30 -H "$AUTH" -H 'Content-Type: application/json' \
  --data '{"target":"127.0.0.1:1","scenarios":"get","workers":2,"concurrency":[2],"branch":"main"}' \
  "$URL/benchmark/start" | sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p')

# The pages: name and path; those answering 200 are measured.
cat > "$WORK/pages" <<EOF
overview	/
run page (100 results)	/runs/$RUNID
series trend ($SHOWN of $POINTS points)	$TREND
trends, no series	/trends
compare (100 cells)	/compare?base=$BASEID&head=$RUNID
compare picker	/compare
modes	/modes
cost	/cost
sql (no query)	/sql
benchmarks list	/benchmarks
orchestrated benchmark (queued, 2 tasks)	/benchmarks/${BENCH_ID:-none}
EOF

wrk_one() { # wrk_one NAME PATH: appends "NAME<TAB>req/s<TAB>p50<TAB>p99<TAB>errors<TAB>srv p50<TAB>srv p99"
  : > "$WORK/serve.err" # the access log of this page alone
  bounded wrk -t2 -c32 -d"${SECS}s" --timeout 10s --latency -H "$AUTH" "$URL$2" >"$WORK/wrk.out" 2>&1 ||
    { cat "$WORK/wrk.out" >&2; die "wrk failed on $2"; }
  sed -n 's/.* status=\([0-9]*\) ms=\([0-9.]*\) .*/\1 \2/p' "$WORK/serve.err" |
    awk '$1 == 200 { print $2 }' | sort -n > "$WORK/ms"
  awk -v n="$1" -v srv="$(awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "- -"; exit }
      i50 = int(NR * 0.50 + 0.5); if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1; if (i99 > NR) i99 = NR
      printf "%.2f %.2f", v[i50], v[i99] }' "$WORK/ms")" '
    function ms(s) { if (s ~ /us$/) return s * 0.001; if (s ~ /ms$/) return s + 0; if (s ~ /s$/) return s * 1000; return s }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    / requests in / { reqs = $1 } /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { bad += $NF }
    /Socket errors:/ { gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) bad += $i }
    END { split(srv, s, " "); if (reqs + 0 == 0) { p50 = -1; p99 = -1 }
          printf "%s\t%.0f\t%.2f\t%.2f\t%d\t%s\t%s\n", n, rps, p50, p99, bad, s[1], s[2] }' \
    "$WORK/wrk.out" >> "$WORK/reads"
  log "bench: $(tail -n 1 "$WORK/reads" | tr '\t' ' ')"
}
: > "$WORK/reads"
: > "$WORK/missing"
log "bench: pages with $NRES results stored, 32 connections, $SECS s each"
while IFS='	' read -r name path; do
  st=$(get "$path")
  if [ "$st" = 200 ]; then
    wrk_one "$name" "$path"
  else
    printf '%s\t%s\t%s\n' "$name" "$path" "$st" >> "$WORK/missing"
    log "bench: $name ($path) answers $st: not measured"
  fi
done < "$WORK/pages"
RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVE_PID/status")
stop_serve
ELAPSED=$(( $(date +%s) - T0 ))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the section ----
SECTION=$WORK/section.md
{
  echo
  echo "## Dashboard pages${BENCH_SERVE_ARGS:+ (serve $BENCH_SERVE_ARGS)}"
  echo
  echo "\`sh bench/dashboard_bench.sh build\` (\`make bench\`), $START, ${ELAPSED} s; nproc $(nproc); load average"
  echo "$LOAD0 before, $LOAD1 after (a shared machine: other processes ran beside it, so the figures are noisy)."
  echo "$("$RB" --version 2>/dev/null). $NRES results in $FILL runs (${DBMB} MB, $FILL_NOTE by \`ingest_loop fill\`:"
  echo "runs an hour apart on main, 10 groups of 100 series, so a series has $POINTS points). Collector with default options;"
  echo "every request carries an admin bearer token. wrk -t2 -c32 -d${SECS}s --timeout 10s per page; server ms = the collector's own"
  echo "time per request (its access log), p50/p99 over the same requests."
  echo
  echo "| page | req/s | p50 ms | p99 ms | non-2xx/errors | server p50 ms | server p99 ms | goal p99 <= 50 ms |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F '\t' '{ if ($4 < 0) { $3 = "–"; $4 = "– (no answer in 10 s)" }
                 printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7,
                 ($4 + 0 > 0 && $4 + 0 <= 50 && $5 == 0 ? "met" : "**missed**") }' "$WORK/reads"
  if [ -s "$WORK/missing" ]; then
    echo
    echo "Not measured (no 200 answer): $(awk -F '\t' '{ printf "%s%s `%s` (%s)", (NR > 1 ? ", " : ""), $1, $2, $3 }' "$WORK/missing")."
  fi
  echo
  echo "Collector RSS after the load: $((RSS / 1024)) MB. The series: \`$KEY\`."
} > "$SECTION"
cat "$SECTION"
cat "$SECTION" >> "$OUT" || die "cannot append to $OUT"
log "bench: appended the dashboard section to $OUT (${ELAPSED} s)"
