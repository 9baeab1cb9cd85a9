#!/bin/bash
# test_dashboard.sh -- the dashboard in a real headless browser (Debian's
# chromium driven by playwright-core, tests/browser/check.mjs): a real
# redis-server, a private collector filled by real `redbench run --upload`
# runs (several commits on main, a run on a branch named with an HTML/JS
# payload, a run whose config audit carries one, a client-server run, an
# orchestrated benchmark), read and query tokens from `redbench token create`,
# expectations from the warehouse (sqlite3); then an empty collector whose
# every page must answer 200. Screenshots go to $RB_ARTIFACTS (default
# BUILD/artifacts/screenshots). Installs what it lacks when root: chromium,
# nodejs + npm (apt-get), playwright-core (npm ci into tests/browser/node_modules).
. "$(dirname "$0")/lib.sh"

ROOT=${RB_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BROWSER_DIR=$ROOT/tests/browser
BUILD_DIR=$(cd "$(dirname "$RB")" && pwd)
ART=${RB_ARTIFACTS:-$BUILD_DIR/artifacts/screenshots}
CHROMIUM=${RB_CHROMIUM:-/usr/bin/chromium}

# ---- the harness: chromium, node, playwright-core ----
apt_install() { # apt_install PKG...: installs Debian packages as root; 1 if it cannot
  [ "$(id -u)" = 0 ] || { echo "# missing $*; as root: apt-get install -y $*" >&2; return 1; }
  echo "# installing $*" >&2
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "$@" >"$TMP/apt.log" 2>&1 ||
    { timeout 300 apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "$@" >"$TMP/apt.log" 2>&1; } ||
    { tail -5 "$TMP/apt.log" >&2; return 1; }
}
harness() {
  [ -x "$CHROMIUM" ] || apt_install chromium || return 1
  { command -v node && command -v npm; } >/dev/null || apt_install nodejs npm || return 1
  if [ ! -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
     ! grep -q "\"version\": \"$(sqlite3 :memory: "select json_extract(readfile('$BROWSER_DIR/package.json'), '\$.dependencies.playwright-core')")\"" \
       "$BROWSER_DIR/node_modules/playwright-core/package.json"; then
    echo "# npm ci in tests/browser" >&2
    (cd "$BROWSER_DIR" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >"$TMP/npm.log" 2>&1) ||
      { tail -5 "$TMP/npm.log" >&2; return 1; }
  fi
}
check "browser harness: chromium, node and playwright-core available" harness || finish
"$CHROMIUM" --version 2>/dev/null | sed 's/^/# /'

# This run's screenshots only: drop the previous run's (run ids differ from run to run).
mkdir -p "$ART" && rm -f "$ART"/*-desktop.png "$ART"/*-phone.png "$ART"/expect.json

# check.mjs with the common options; every check prints ok / not ok itself.
browse() { timeout 600 node "$BROWSER_DIR/check.mjs" --chromium "$CHROMIUM" --artifacts "$ART" "$@"; }

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
"$RB" migrate --db "$DB" >/dev/null || { notok "migrate"; finish; }
READ_TOKEN=$("$RB" token create --role read --name browser-read --db "$DB" 2>/dev/null)
QUERY_TOKEN=$("$RB" token create --role query --name browser-query --db "$DB" 2>/dev/null)
check "read and query tokens created (redbench token create)" [ -n "$READ_TOKEN" -a -n "$QUERY_TOKEN" ]
RB_PRIVATE=1 start_collector "$DB" || { notok "collector starts"; finish; }

# run NAME ARGS...: one small real run, written to $TMP/NAME.json and uploaded
# with the bootstrap token ($REDBENCH_TOKEN). A second or two each.
run() {
  rn=$1; shift
  "$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 2 --pipeline 1,4 \
    --requests 600 --iterations 3 --warmup 50 --dataset-size 100 --preset performance-16x --quiet \
    --out "$TMP/$rn.json" "$@" > "$TMP/$rn.out" 2> "$TMP/$rn.err" ||
    { sed 's/^/# /' "$TMP/$rn.err" >&2; return 1; }
}
XSS_BRANCH='<script>window.__xss=1;alert(1)</script>'
XSS_CONFIG='<img src=x onerror="window.__xss=2;alert(2)">'
ok_runs=1
for c in 1 2 3 4; do
  run main$c --branch main --commit "c0ffee0$c" --collector "$URL" || ok_runs=0
done
check "four runs on main upload" [ $ok_runs = 1 ]
# A real regression: the next commit runs through the delay-injecting proxy
# (0.5 ms a round trip against ~0.1 ms), so its throughput falls far.
SLOW_OK=0
if [ -x "${RB_DELAYPROXY:-}" ]; then
  "$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 500 --max-seconds 120 > "$TMP/proxy.out" 2>&1 &
  PROXY_PID=$!; PIDS="$PIDS $PROXY_PID"
  for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/proxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
  [ -n "${PPORT:-}" ] && run slow --branch main --commit c0ffee07 --target "127.0.0.1:$PPORT" --collector "$URL" && SLOW_OK=1
  kill "$PROXY_PID" 2>/dev/null
fi
check "a run through the delay proxy (a real regression) uploads" [ $SLOW_OK = 1 ]
# Another value size: its own series, so main's trend points stay main's runs.
check "a run on a branch named with a script payload uploads" \
  run xssb --branch "$XSS_BRANCH" --commit badc0de1 --value-size 48 --collector "$URL"
check "a client-server run (client syd, server iad) uploads" \
  run cs --branch main --commit c0ffee05 --mode client-server --client-region syd --server-region iad --collector "$URL"
# A recorded run whose config audit carries a payload, uploaded as a file.
run xssc0 --branch main --commit c0ffee06 &&
  jedit "$TMP/xssc0.json" "json_set(d, '\$.target.config.notes', '$XSS_CONFIG')" > "$TMP/xssc.json"
check "a run whose config audit carries an img/onerror payload uploads" \
  "$RB" upload --collector "$URL" "$TMP/xssc.json" > "$TMP/xssc.out" 2>&1

# An orchestrated benchmark: one task (set, get) leased by one real worker.
PLAN='{"target":"127.0.0.1:'$REDIS_PORT'","scenarios":"set,get","concurrency":[2],"value_size":[32],
       "dataset_size":[100],"iterations":2,"requests":600,"warmup":50,"workers":1,"start_delay":1,
       "lease_seconds":30,"branch":"main","project":"default","preset":"performance-16x"}'
curl -s -m 30 -o "$TMP/bench.json" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
  -H 'Content-Type: application/json' --data-binary "$PLAN" "$URL/benchmark/start" > "$TMP/bench.code"
BENCH_ID=$(jget "$TMP/bench.json" '$.id')
check "an orchestrated benchmark starts (201)" [ "$(cat "$TMP/bench.code")" = 201 -a -n "$BENCH_ID" ]
timeout 120 "$RB" worker --collector "$URL" --name browser-w1 --once --idle-exit 30 > "$TMP/w1.out" 2> "$TMP/w1.err"
i=0 bstatus=""
while [ $i -lt 600 ]; do # at most 120 s
  bstatus=$(sql "$DB" "select status from benchmarks where id = '$BENCH_ID'" 2>/dev/null)
  [ "$bstatus" = complete ] && break
  sleep 0.2; i=$((i + 1))
done
check "the orchestrated benchmark completes" [ "$bstatus" = complete ]

# ---- expectations from the warehouse ----
# Verdicts follow ingest asynchronously: wait (at most 300 s) until every run is analysed, so
# the pages and the expectations see the same verdicts.
i=0
while [ $i -lt 1500 ] && [ "$(sql "$DB" "select count(*) from runs where analyzed_at is null" 2>/dev/null || echo 0)" != 0 ]; do
  sleep 0.2; i=$((i + 1))
done
check "every run analysed before the pages are read" [ "$(sql "$DB" "select count(*) from runs where analyzed_at is null")" = 0 ]
first=$(sql "$DB" "select id from runs where branch = 'main' and mode = 'single' order by started_at limit 1")
latest=$(sql "$DB" "select id from runs where branch = 'main' and mode = 'single' order by started_at desc limit 1")
sql "$DB" "select json_object(
  'first_main', '$first', 'latest_main', '$latest',
  'xss_branch', '$(echo "$XSS_BRANCH" | sed "s/'/''/g")',
  'xss_config', '$(echo "$XSS_CONFIG" | sed "s/'/''/g")',
  'xss_branch_run', (select id from runs where branch = '$(echo "$XSS_BRANCH" | sed "s/'/''/g")'),
  'xss_config_run', (select id from runs where json_extract(target_config, '\$.notes') is not null),
  'orchestrated_run', (select id from runs where mode = 'orchestrated'),
  'slow_run', (select id from runs where commit_sha = 'c0ffee07'),
  'benchmark', json_object('id', '$BENCH_ID', 'status', (select status from benchmarks where id = '$BENCH_ID'),
      'tasks', (select count(*) from tasks where benchmark_id = '$BENCH_ID'),
      'workers', json(coalesce((select json_group_array(distinct lease_owner) from tasks
                                where benchmark_id = '$BENCH_ID' and lease_owner is not null), '[]'))),
  'runs', (select json_group_array(json_object('id', id, 'branch', branch, 'commit', commit_sha,
      'mode', mode, 'started_at', started_at)) from (select * from runs order by started_at)),
  'results', (select json_group_array(json_object('run', x.run_id, 'series', x.series_key, 'op', x.op,
      'ops', x.ops_per_sec, 'p50', x.p50_us, 'p99', x.p99_us, 'errors', x.errors,
      'usd_per_mop', (select usd_per_mop from cost_per_op c where c.result_id = x.id)))
      from results x),
  'verdicts', (select json_group_array(json_object('id', id, 'run', run_id, 'series', series_key, 'metric', metric,
      'status', status)) from verdicts))" > "$TMP/expect.json"
check "expectations written ($(sql "$DB" 'select count(*) from runs') runs, $(sql "$DB" 'select count(*) from results') results)" \
  [ "$(sqlite3 :memory: "select json_valid(readfile('$TMP/expect.json'))")" = 1 ]
cp "$TMP/expect.json" "$ART/expect.json"

# ---- the browser: every page ----
browse --url "$URL" --token "$READ_TOKEN" --query-token "$QUERY_TOKEN" --expect "$TMP/expect.json" ||
  echo "# check.mjs exited non-zero"
check "the collector stops cleanly (exit 0)" stop_collector

# ---- an empty collector: every page 200 ----
start_collector "$TMP/empty.db" || { notok "empty collector starts"; finish; }
browse --url "$URL" --empty || echo "# check.mjs --empty exited non-zero"
check "the empty collector stops cleanly (exit 0)" stop_collector
finish
