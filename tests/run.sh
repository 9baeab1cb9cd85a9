#!/bin/sh
# run.sh -- runs every unit test program and end-to-end script, counts their
# "ok - ..." / "not ok - ..." lines, and ends with "N passed, N failed".
# Usage: tests/run.sh BUILD_DIR   (the directory holding redbench and tests/)
# RB_ONLY=PATTERN runs only the programs/scripts whose base name matches the
# shell pattern (e.g. RB_ONLY='test_dash*'); unset: all of them.
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
export RB_BIN="$BUILD/redbench" RB_DELAYPROXY="$ROOT/tests/delayproxy.sh" RB_ROOT="$ROOT"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  case $(basename "$t") in ${RB_ONLY:-*}) ;; *) continue ;; esac
  echo "# unit: $(basename "$t")"
  "$t" 2>&1 | tee -a "$log" || status=1
done
for t in "$ROOT"/tests/e2e/test_*.sh; do
  case $(basename "$t") in ${RB_ONLY:-*}) ;; *) continue ;; esac
  echo "# e2e: $(basename "$t")"
  bash "$t" 2>&1 | tee -a "$log" || status=1
done
passed=$(grep -c '^ok - ' "$log")
failed=$(grep -c '^not ok - ' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "not ok - a test program exited non-zero without reporting a failure"
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
