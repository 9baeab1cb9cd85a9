#!/bin/sh
# sql_bench.sh -- the SQL endpoint's speed with a filled warehouse: the series
# query of bench/collector_bench.sh through POST /api/v1/query and through
# GET /sql (the page), wrk -t2 -c32 on 127.0.0.1; prints one Markdown table row
# per request: req/s, p50 ms, p99 ms, non-2xx/errors. Answers are checked first.
# Usage: sh bench/sql_bench.sh REDBENCH DB [SERVE OPTIONS...]
#   REDBENCH: the binary to serve with; DB: a warehouse filled by
#   `ingest_loop fill` (make BUILD=B B/ingest_loop; ingest_loop fill
#   tests/fixtures/compare/old1.json DB 10000 gives 1,000,000 results).
# Environment: BENCH_WRK_SECONDS (per request, default 12).
set -u
[ $# -ge 2 ] || { echo "usage: sh bench/sql_bench.sh REDBENCH DB [SERVE OPTIONS...]" >&2; exit 2; }
RB=$1 DB=$2
shift 2
SECS=${BENCH_WRK_SECONDS:-12}
for t in wrk curl sqlite3; do command -v $t >/dev/null || { echo "bench: $t not found (apt-get install $t)" >&2; exit 2; }; done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redbench-sqlbench.XXXXXX") || exit 2
SERVE_PID=""
trap '[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
die() { echo "bench: $*" >&2; exit 2; }
REDBENCH_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export REDBENCH_TOKEN

KEY=$(sqlite3 -cmd ".timeout 10000" "$DB" "SELECT series_key FROM results WHERE run_id = (SELECT max(id) FROM runs) LIMIT 1")
[ -n "$KEY" ] || die "$DB holds no results"
SERIES_SQL="SELECT r.started_at, r.commit_sha, x.ops_per_sec, x.p50_us, x.p99_us FROM results x JOIN runs r ON r.id = x.run_id WHERE x.series_key = '$KEY' AND r.branch = 'main' ORDER BY r.started_at DESC LIMIT 100"
WANT=$(sqlite3 -cmd ".timeout 10000" "$DB" "SELECT count(*) FROM ($SERIES_SQL)")

"$RB" serve --db "$DB" --listen 127.0.0.1:0 "$@" > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVE_PID=$!
i=0 URL=""
while [ $i -lt 600 ] && [ -z "$URL" ]; do # migrations of a big warehouse may take a while
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; die "the collector did not start"; }
  URL=$(sed -n 's,.*listening on \(http://[^ ]*\).*,\1,p' "$WORK/serve.out" 2>/dev/null)
  [ -n "$URL" ] || sleep 0.2
  i=$((i + 1))
done
[ -n "$URL" ] || die "the collector printed no address"
AUTH="Authorization: Bearer $REDBENCH_TOKEN"

cat > "$WORK/query.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"sql": "$SERIES_SQL"}]]
LUA
Q=$(printf '%s' "$SERIES_SQL" | od -An -tx1 -v | tr -s ' \n' ' ' | sed 's/ $//; s/ /%/g')
N=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' --data "{\"sql\": \"$SERIES_SQL\"}" -D - -o /dev/null \
    "$URL/api/v1/query" | tr -d '\r' | sed -n 's/^X-Redbench-Rows: //Ip')
[ "$N" = "$WANT" ] || die "POST /api/v1/query returned ${N:-no} rows, want $WANT"
PAGE=1 # a collector from before the /sql page: the API alone
if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$URL/sql")" = 404 ]; then
  PAGE=0
else
  N=$(curl -sf -H "$AUTH" "$URL/sql?q=$Q" | sed -n 's,.*<span id="sql-rows">\([0-9]*\)</span>.*,\1,p')
  [ "$N" = "$WANT" ] || die "GET /sql returned ${N:-no} rows, want $WANT"
fi

row() { # NAME PATH [wrk args]
  name=$1 path=$2
  shift 2
  timeout 300 wrk -t2 -c32 -d"${SECS}s" --latency -H "$AUTH" "$@" "$URL$path" > "$WORK/wrk.out" 2>&1 ||
    { cat "$WORK/wrk.out" >&2; die "wrk failed on $path"; }
  awk -v n="$name" '
    function ms(s) { if (s ~ /us$/) return s * 0.001; if (s ~ /ms$/) return s + 0; if (s ~ /s$/) return s * 1000; return s }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { bad += $NF } /Socket errors/ { bad += 1 }
    END { printf "| %s | %.0f | %.2f | %.2f | %d |\n", n, rps, p50, p99, bad }' "$WORK/wrk.out"
}
row "POST /api/v1/query (series)" /api/v1/query -s "$WORK/query.lua"
[ $PAGE = 0 ] || row "GET /sql?q= (series, page)" "/sql?q=$Q"
echo "| (collector RSS after the load: $(awk '/^VmRSS/ { printf "%d MB", $2 / 1024 }' "/proc/$SERVE_PID/status")) | | | | |"
