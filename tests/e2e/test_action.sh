#!/bin/bash
# The GitHub Action run locally: ci/action.sh -- the script action.yml's step
# runs -- with the inputs as INPUT_* variables and GITHUB_STEP_SUMMARY /
# GITHUB_OUTPUT pointing at temp files, against a real redis-server and a real
# collector. It passes while the baseline builds and on an unchanged run, fails
# (exit 1) on a run made slower by the delay proxy, and honours fail-on and
# insufficient.
. "$(dirname "$0")/lib.sh"
ROOT=${RB_ROOT:?}
ACTION="$ROOT/ci/action.sh"

# action.yml and action.sh agree: the step runs action.sh; every input reaches
# it as INPUT_<NAME>, and action.sh reads no INPUT_ variable action.yml does not set.
yml_inputs=$(sed -n '/^inputs:/,/^outputs:/p' "$ROOT/ci/action.yml" | sed -n 's/^  \([a-z-]*\):$/\1/p' |
  tr 'a-z-' 'A-Z_' | sed 's/^/INPUT_/' | sort)
yml_env=$(sed -n 's/^ *\(INPUT_[A-Z_]*\): \${{ inputs\.\([a-z-]*\).*/\1 \2/p' "$ROOT/ci/action.yml" |
  awk '{ n = toupper($2); gsub("-", "_", n); if ("INPUT_" n == $1) print $1 }' | sort)
sh_vars=$(grep -o 'INPUT_[A-Z][A-Z_]*' "$ACTION" | sort -u)
check "action.yml's step runs ci/action.sh" grep -q 'run: bash "$GITHUB_ACTION_PATH/action.sh"' "$ROOT/ci/action.yml"
check "every input is passed to the step as INPUT_<NAME>" [ "$yml_inputs" = "$yml_env" ]
check "action.sh reads only inputs action.yml passes" [ -z "$(comm -23 <(echo "$sh_vars") <(echo "$yml_env"))" ]
check "outputs run-id, verdict, dashboard-url come from the step" \
  [ "$(grep -c 'value: \${{ steps.gate.outputs.\(run-id\|verdict\|dashboard-url\) }}' "$ROOT/ci/action.yml")" = 3 ]
check "the example workflow has pull_request, schedule and workflow_dispatch" \
  sh -c "grep -q '^  pull_request:' '$ROOT/ci/workflows/bench.yml' && grep -q '^  schedule:' '$ROOT/ci/workflows/bench.yml' && grep -q '^  workflow_dispatch:' '$ROOT/ci/workflows/bench.yml' && grep -q 'cron:' '$ROOT/ci/workflows/bench.yml'"

start_redis || { notok "redis-server starts"; finish; }
start_collector "$TMP/wh.db" || { notok "collector starts"; finish; }

export REDBENCH_BIN="$RB" INPUT_COLLECTOR_URL="$URL" INPUT_TOKEN="$REDBENCH_TOKEN"
export INPUT_TARGET="127.0.0.1:$REDIS_PORT" INPUT_SCENARIOS=get INPUT_CONCURRENCY=4 INPUT_PIPELINE=1
export INPUT_ITERATIONS=4 INPUT_REQUESTS=3000 INPUT_DATASET_SIZE=500 INPUT_RUN_ARGS="--warmup 300"
export INPUT_BRANCH=main INPUT_COMMIT=abc123 INPUT_BASELINE_BRANCH=main INPUT_FAIL_ON=regression
export INPUT_INSUFFICIENT=pass INPUT_ANALYZE_ARGS="--threshold 0.5" INPUT_DASHBOARD_URL=""
unset REDBENCH_TOKEN   # the action's token input is what counts

# step NAME: runs the action once with fresh summary/output files; sets RC.
step() {
  export GITHUB_STEP_SUMMARY="$TMP/$1.summary" GITHUB_OUTPUT="$TMP/$1.output"
  : > "$GITHUB_STEP_SUMMARY"; : > "$GITHUB_OUTPUT"
  bash "$ACTION" > "$TMP/$1.out" 2> "$TMP/$1.err"
  RC=$?
}
# step_pass NAME: a direct run expected to pass. This machine is shared: a
# CPU hog can slow one run for real, so up to three measurements are taken.
step_pass() {
  for attempt in 1 2 3; do
    step "$1"
    [ "$RC" = 0 ] && [ "$(out "$1" verdict)" = pass ] && return
    echo "# $1, attempt $attempt: exit $RC, verdict $(out "$1" verdict) (a noisy machine?); again"
    grep '^|' "$TMP/$1.summary" | sed 's/^/#   /'
  done
}
# out NAME KEY: a value the step wrote to GITHUB_OUTPUT.
out() { sed -n "s/^$2=//p" "$TMP/$1.output" | tail -n 1; }

step b1
check "first run: exit 0 (insufficient baseline passes)" [ $RC = 0 ]
check "first run: verdict=insufficient_baseline" [ "$(out b1 verdict)" = insufficient_baseline ]
check "first run: a warning annotation says so" grep -q '^::warning title=redbench.*insufficient baseline' "$TMP/b1.out"
RID=$(out b1 run-id)
check "run-id is the uploaded run's id" [ "$(sql "$TMP/wh.db" "select commit_sha from runs where id='$RID'")" = abc123 ]
check "dashboard-url is the run's page" [ "$(out b1 dashboard-url)" = "$URL/runs/$RID" ]
check "the run's page answers" [ "$(curl -s -m 30 -o /dev/null -w '%{http_code}' "$(out b1 dashboard-url)")" = 200 ]
check "the job summary has the verdict heading and the analysis" \
  sh -c "grep -q '^## redbench: insufficient_baseline' '$TMP/b1.summary' && grep -q 'redbench: run' '$TMP/b1.summary'"
step b2
check "second run: exit 0" [ $RC = 0 ]
step_pass b3
check "third run: exit 0, verdict=pass" sh -c "[ $RC = 0 ] && [ '$(out b3 verdict)' = pass ]"
check "the summary links the run" grep -q "($URL/runs/$(out b3 run-id))" "$TMP/b3.summary"

# Insufficient baseline as a failure: a series of its own (another preset).
INPUT_INSUFFICIENT=fail INPUT_PRESET=fresh step fresh
check "insufficient=fail: a new series fails the job (exit 1)" [ $RC = 1 ]
check "insufficient=fail: verdict=insufficient_baseline" [ "$(out fresh verdict)" = insufficient_baseline ]

# Slower for a physical reason: the delay proxy.
: > "$TMP/proxy.out"
"$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 500 --max-seconds 400 > "$TMP/proxy.out" 2>&1 &
PIDS="$PIDS $!"
PPORT=""
for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/proxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
check "delay proxy is listening" [ -n "$PPORT" ]
INPUT_TARGET="127.0.0.1:$PPORT" step slow
sed 's/^/# /' "$TMP/slow.summary"
check "a slowed run fails the job (exit 1)" [ $RC = 1 ]
check "slowed run: verdict=regression" [ "$(out slow verdict)" = regression ]
check "slowed run: run-id and dashboard-url are set" \
  sh -c "[ -n '$(out slow run-id)' ] && [ '$(out slow dashboard-url)' = '$URL/runs/$(out slow run-id)' ]"
check "slowed run: the summary shows the regression" grep -q "❌ regression" "$TMP/slow.summary"
check "slowed run: the summary says how to triage" grep -q "redbench triage --run $(out slow run-id)" "$TMP/slow.summary"
check "slowed run: an error annotation names the series" grep -q "^::error.*get/get mode=single" "$TMP/slow.out"
INPUT_TARGET="127.0.0.1:$PPORT" INPUT_FAIL_ON=never step never
check "fail-on never: a slowed run passes the job (exit 0) with verdict=regression" \
  sh -c "[ $RC = 0 ] && [ '$(out never verdict)' = regression ]"
INPUT_TARGET="127.0.0.1:$PPORT" INPUT_FAIL_ON=any-change step anyc
check "fail-on any-change: a slowed run fails the job (exit 1)" [ $RC = 1 ]

step_pass same
check "an unchanged run passes again (exit 0, verdict pass)" sh -c "[ $RC = 0 ] && [ '$(out same verdict)' = pass ]"

# An improvement: a series whose baseline was measured through the proxy.
# Three runs: with two, the prediction interval of the run medians (t = 63.7
# at alpha 0.005) is too wide for a loaded machine to tell even a 20-fold change.
INPUT_TARGET="127.0.0.1:$PPORT" INPUT_PRESET=viaproxy step i1
INPUT_TARGET="127.0.0.1:$PPORT" INPUT_PRESET=viaproxy step i2
INPUT_TARGET="127.0.0.1:$PPORT" INPUT_PRESET=viaproxy step i3
INPUT_PRESET=viaproxy INPUT_FAIL_ON=any-change step faster
check "fail-on any-change: an improvement fails the job (exit 1, verdict improvement)" \
  sh -c "[ $RC = 1 ] && [ '$(out faster verdict)' = improvement ]"
INPUT_PRESET=viaproxy step faster2
check "fail-on regression: an improvement passes (exit 0)" [ $RC = 0 ]

# Errors: exit 2 and verdict=error.
INPUT_COLLECTOR_URL="http://127.0.0.1:1" step down
check "an unreachable collector: exit 2, verdict=error" sh -c "[ $RC = 2 ] && [ '$(out down verdict)' = error ]"
check "an unreachable collector: the summary says the benchmark step failed" grep -q '^## redbench: benchmark failed' "$TMP/down.summary"
INPUT_FAIL_ON=sometimes step bad
check "a bad fail-on: exit 2" [ $RC = 2 ]
INPUT_TOKEN=wrong step tok
check "a wrong token: exit 2, verdict=error" sh -c "[ $RC = 2 ] && [ '$(out tok verdict)' = error ]"

check "collector stops cleanly on SIGTERM" stop_collector
finish
