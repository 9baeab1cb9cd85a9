#!/bin/bash
# action.sh -- the step of ci/action.yml: turns the action's inputs (INPUT_*
# variables, which action.yml sets from `inputs`) into a ci/gate.sh call.
# Runs the same way outside GitHub (tests/e2e/test_action.sh does).
# Extra environment: REDBENCH_BIN (default: the build next to this file).
# Exit status: gate.sh's (0 pass, 1 fail the job, 2 error).
set -u
here=$(cd "$(dirname "$0")" && pwd)
RB=${REDBENCH_BIN:-$here/../build/redbench}
[ -n "${INPUT_COLLECTOR_URL:-}" ] || { echo "::error title=redbench::input collector-url is required"; exit 2; }

args=(--target "${INPUT_TARGET:-127.0.0.1:6379}")
# opt FLAG VALUE: adds a `redbench run` option when the input is set.
opt() { [ -n "$2" ] && args+=("$1" "$2"); return 0; }
opt --scenarios "${INPUT_SCENARIOS:-}"
opt --concurrency "${INPUT_CONCURRENCY:-}"
opt --pipeline "${INPUT_PIPELINE:-}"
opt --value-size "${INPUT_VALUE_SIZE:-}"
opt --dataset-size "${INPUT_DATASET_SIZE:-}"
opt --iterations "${INPUT_ITERATIONS:-}"
opt --requests "${INPUT_REQUESTS:-}"
opt --duration "${INPUT_DURATION:-}"
opt --mode "${INPUT_MODE:-}"
opt --preset "${INPUT_PRESET:-}"
opt --project "${INPUT_PROJECT:-}"
opt --branch "${INPUT_BRANCH:-}"
opt --commit "${INPUT_COMMIT:-}"
# Free-form extras are split on white space (no quoting inside them).
read -r -a extra <<< "${INPUT_RUN_ARGS:-}"

analyze=""
[ -n "${INPUT_BASELINE_BRANCH:-}" ] && analyze="--baseline-branch ${INPUT_BASELINE_BRANCH}"
analyze="$analyze ${INPUT_ANALYZE_ARGS:-}"

export REDBENCH_TOKEN=${INPUT_TOKEN:-${REDBENCH_TOKEN:-}}
export REDBENCH_GATE_FAIL_ON=${INPUT_FAIL_ON:-regression}
export REDBENCH_GATE_INSUFFICIENT=${INPUT_INSUFFICIENT:-pass}
export REDBENCH_GATE_ANALYZE_ARGS=$analyze
export REDBENCH_GATE_DASHBOARD_URL=${INPUT_DASHBOARD_URL:-}
exec sh "$here/gate.sh" "$RB" "$INPUT_COLLECTOR_URL" "${args[@]}" "${extra[@]}"
