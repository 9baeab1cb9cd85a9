#!/bin/sh
# gate.sh -- the CI gate: benchmark, upload, judge; exit 1 on a regression.
# Usage: ci/gate.sh REDBENCH COLLECTOR_URL [redbench run options...]
# Needs REDBENCH_TOKEN. Writes the Markdown verdict to $GITHUB_STEP_SUMMARY when
# set (GitHub Actions' job summary) and prints it. Extra environment:
# REDBENCH_GATE_ANALYZE_ARGS (e.g. "--threshold 0.2 --baseline-branch main").
# Exit status: 0 no regression, 1 regression, 2 error (run, upload or analysis failed).
set -u
RB=$1; COLLECTOR=$2; shift 2
out=$(mktemp "${TMPDIR:-/tmp}/redbench-gate.XXXXXX")
trap 'rm -f "$out" "$out.md"' EXIT
"$RB" run --collector "$COLLECTOR" --out "$out" --quiet "$@" || exit 2
run_id=$(sed -n 's/^[[:space:]]*"run_id":[[:space:]]*"\([^"]*\)".*/\1/p' "$out" | head -n 1)
[ -n "$run_id" ] || { echo "gate: no run id in the run file" >&2; exit 2; }
# shellcheck disable=SC2086
"$RB" analyze --run "$run_id" --collector "$COLLECTOR" --format markdown ${REDBENCH_GATE_ANALYZE_ARGS:-} > "$out.md"
rc=$?
cat "$out.md"
[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$out.md" >> "$GITHUB_STEP_SUMMARY"
if [ $rc = 1 ]; then
  # GitHub annotations: one error line per regressed series.
  grep '❌ regression' "$out.md" | sed 's/^| `\([^`]*\)` | \([^|]*\) |.*/::error title=redbench regression::\1 \2/'
fi
exit $rc
