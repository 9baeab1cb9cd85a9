#!/bin/sh
# gate.sh -- the CI gate: benchmark a target, upload the run to a collector,
# judge it against its baseline; job summary, outputs and annotations; a
# non-zero exit fails the job. Any CI can call it; ci/action.sh is GitHub's way in.
#
# Usage: ci/gate.sh REDBENCH COLLECTOR_URL [redbench run options...]
#
# Environment:
#   REDBENCH_TOKEN               bearer token of the collector (the upload needs it)
#   REDBENCH_GATE_FAIL_ON        regression (default) | any-change | never
#   REDBENCH_GATE_INSUFFICIENT   pass (default) | fail: the verdict "insufficient baseline"
#   REDBENCH_GATE_ANALYZE_ARGS   extra `redbench analyze` options ("--threshold 0.2 --baseline-branch main")
#   REDBENCH_GATE_DASHBOARD_URL  dashboard base URL for links (default COLLECTOR_URL)
#   GITHUB_STEP_SUMMARY          if set, the Markdown verdict is appended to this file
#   GITHUB_OUTPUT                if set, run-id, verdict and dashboard-url are appended to it
#
# Prints the Markdown verdict and, one per line, GitHub workflow commands
# (::error / ::warning) for regressions. The outputs: run-id (the run's id),
# verdict (pass | regression | improvement | insufficient_baseline | error),
# dashboard-url (the run's page).
# Exit status: 0 pass; 1 the job should fail (a regression, or what fail-on and
# insufficient make a failure); 2 error (bad setting, run, upload or analysis failed).
set -u
[ $# -ge 2 ] || { echo "usage: gate.sh REDBENCH COLLECTOR_URL [run options...]" >&2; exit 2; }
RB=$1; COLLECTOR=${2%/}; shift 2
FAIL_ON=${REDBENCH_GATE_FAIL_ON:-regression}
INSUFFICIENT=${REDBENCH_GATE_INSUFFICIENT:-pass}
DASH=${REDBENCH_GATE_DASHBOARD_URL:-$COLLECTOR}
DASH=${DASH%/}
case $FAIL_ON in regression|any-change|never) ;; *)
  echo "gate: fail-on must be regression, any-change or never (not '$FAIL_ON')" >&2; exit 2 ;; esac
case $INSUFFICIENT in pass|fail) ;; *)
  echo "gate: insufficient must be pass or fail (not '$INSUFFICIENT')" >&2; exit 2 ;; esac

out=$(mktemp "${TMPDIR:-/tmp}/redbench-gate.XXXXXX")
trap 'rm -f "$out" "$out.json" "$out.md" "$out.md.tmp" "$out.err"' EXIT

summary() { if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat >> "$GITHUB_STEP_SUMMARY"; else cat > /dev/null; fi; }
output() { [ -n "${GITHUB_OUTPUT:-}" ] && printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"; return 0; }
# fail STEP MESSAGE: reports an error everywhere and exits 2.
fail() {
  echo "gate: $2" >&2
  echo "::error title=redbench $1 failed::$2"
  printf '## redbench: %s failed\n\n%s\n' "$1" "$2" | summary
  output verdict error
  exit 2
}

# 1. Benchmark and upload (exit 3 = uploaded to the spool only: an error here).
"$RB" run --collector "$COLLECTOR" --out "$out" --quiet "$@" 2> "$out.err"
rc=$?
cat "$out.err" >&2
[ $rc = 0 ] || fail benchmark "redbench run exited $rc: $(tail -n 1 "$out.err")"
run_id=$(sed -n 's/^[[:space:]]*"run_id":[[:space:]]*"\([^"]*\)".*/\1/p' "$out" | head -n 1)
[ -n "$run_id" ] || fail benchmark "no run id in the run file"
output run-id "$run_id"
output dashboard-url "$DASH/runs/$run_id"

# 2. Judge. The analyzer's own --fail-on decides when it has the option; this
# script decides from the JSON summary otherwise (older redbench).
help=$("$RB" analyze --help 2>&1)
has_fail_on=0; echo "$help" | grep -q -- '--fail-on' && has_fail_on=1
has_insufficient=0; echo "$help" | grep -q -- '--insufficient' && has_insufficient=1
has_github=0; echo "$help" | grep -q -- '--format.*github' && has_github=1
set -- --run "$run_id" --collector "$COLLECTOR"
[ $has_fail_on = 1 ] && set -- "$@" --fail-on "$FAIL_ON"
[ $has_insufficient = 1 ] && set -- "$@" --insufficient "$INSUFFICIENT"
# shellcheck disable=SC2086
"$RB" analyze "$@" --format json ${REDBENCH_GATE_ANALYZE_ARGS:-} > "$out.json" 2> "$out.err"
arc=$?
if [ $arc = 2 ] || [ ! -s "$out.json" ]; then
  fail analysis "redbench analyze exited $arc: $(tail -n 1 "$out.err")"
fi
# The summary's status and counts come first in the analysis JSON.
status=$(sed -n 's/^[[:space:]]*"status":[[:space:]]*"\([a-z_]*\)".*/\1/p' "$out.json" | head -n 1)
count() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$out.json" | head -n 1; }
regressions=$(count regression); improvements=$(count improvement)
verdict=${status:-error}
[ "$verdict" = pass ] && [ "${improvements:-0}" -gt 0 ] && verdict=improvement
# Exit 3: no failure, but some result lacks a baseline (and that fails).
[ $arc = 3 ] && verdict=insufficient_baseline
output verdict "$verdict"

# shellcheck disable=SC2086
"$RB" analyze "$@" --format markdown ${REDBENCH_GATE_ANALYZE_ARGS:-} > "$out.md" 2> /dev/null
{
  printf '## redbench: %s\n\n' "$verdict"
  printf 'Run [`%s`](%s/runs/%s) · fail-on `%s` · insufficient baseline: `%s`\n\n' \
    "$run_id" "$DASH" "$run_id" "$FAIL_ON" "$INSUFFICIENT"
  cat "$out.md"
  if [ "${regressions:-0}" -gt 0 ]; then
    printf '\nIntended? `redbench triage --run %s --collector %s` lists the verdict ids;\n' "$run_id" "$COLLECTOR"
    printf '`redbench triage ID --accept` (or `--false-positive`) records the decision.\n'
  fi
} > "$out.md.tmp" && mv "$out.md.tmp" "$out.md"
cat "$out.md"
summary < "$out.md"

# 3. Annotations.
if [ $has_github = 1 ]; then
  # shellcheck disable=SC2086
  "$RB" analyze "$@" --format github ${REDBENCH_GATE_ANALYZE_ARGS:-} 2> /dev/null | grep '^::'
else
  grep '❌ regression' "$out.md" | sed 's/^| `\([^`]*\)` | \([^|]*\) |.*/::error title=redbench regression::\1 \2/'
fi
if [ $has_github = 0 ] && [ "$verdict" = insufficient_baseline ]; then
  echo "::warning title=redbench::insufficient baseline: not judged (the baseline branch needs more runs)"
fi

# 4. Decide.
if [ $has_fail_on = 1 ]; then
  case $arc in
    0) exit 0 ;;
    1) exit 1 ;;
    3) [ "$INSUFFICIENT" = fail ] && exit 1; exit 0 ;;
    *) exit 2 ;;
  esac
fi
case $verdict in
  regression) [ "$FAIL_ON" = never ] && exit 0; exit 1 ;;
  improvement) [ "$FAIL_ON" = any-change ] && exit 1; exit 0 ;;
  insufficient_baseline) [ "$INSUFFICIENT" = fail ] && exit 1; exit 0 ;;
  *) exit 0 ;;
esac
