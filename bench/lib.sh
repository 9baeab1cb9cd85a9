# lib.sh -- what the collector and dashboard benchmarks share: wrk and the other tools
# (wrk installed the way `make deps` installs packages), a work directory removed at exit,
# stopping the collector they started, log and die. Source it; then bench_tools, bench_setup.

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 2; }

# bench_tools TOOL...: wrk (apt-get as root), and each TOOL must be on PATH.
bench_tools() {
  if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      echo "bench: installing wrk" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; } ||
        { echo "bench: apt-get install wrk failed" >&2; exit 2; }
    else
      echo "bench: wrk not found; run as root:  apt-get install -y wrk" >&2; exit 2
    fi
  fi
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (make deps installs it)" >&2; exit 2; }
  done
}

# bench_setup NAME: WORK, a fresh directory removed at exit with the collector
# (SERVE_PID) stopped first; Ctrl-C exits 130.
bench_setup() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/redbench-$1.XXXXXX") || exit 2
  SERVE_PID=""
  trap 'stop_serve; rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM
}
stop_serve() {
  if [ -n "$SERVE_PID" ]; then
    kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    SERVE_PID=""
  fi
}
