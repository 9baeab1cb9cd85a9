#!/bin/sh
# delayproxy.sh -- the tests' delay proxy: `redbench proxy` delivering every chunk DELAY_US
# late in each direction (an added round trip of 2 x DELAY_US), so end-to-end tests can make
# a server measurably slower for a real reason.
#
# Usage: delayproxy.sh LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_US [--max-seconds N]
# Listens on 127.0.0.1:LISTEN_PORT (0 picks a free port), prints "port N" on stdout once it
# listens, and exits after --max-seconds (default 600) or on SIGTERM/SIGINT.
# $RB_BIN is the redbench binary (tests/run.sh sets it).
set -u
[ $# -ge 3 ] || { echo "usage: delayproxy.sh LISTEN_PORT TARGET DELAY_US [--max-seconds N]" >&2; exit 2; }
port=$1 target=$2 us=$3
max=600
[ "${4:-}" = --max-seconds ] && max=${5:?--max-seconds wants a number}
ready=$(mktemp -u "${TMPDIR:-/tmp}/redbench-delayproxy.XXXXXX")
rtt_ms=$(awk -v u="$us" 'BEGIN { printf "%.6f", 2 * u / 1000 }')
timeout "$max" "${RB_BIN:?RB_BIN must point at redbench}" proxy --listen "127.0.0.1:$port" \
  --upstream "$target" --delay "$rtt_ms" --ready-file "$ready" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid"; rm -f "$ready"; exit 0' TERM INT
i=0
while [ ! -s "$ready" ]; do
  kill -0 "$pid" 2>/dev/null || { echo "delayproxy.sh: redbench proxy did not start" >&2; exit 2; }
  i=$((i + 1)); [ $i -gt 600 ] && { kill "$pid"; echo "delayproxy.sh: no ready file after 30 s" >&2; exit 2; }
  sleep 0.05
done
addr=$(cat "$ready")
echo "port ${addr##*:}"
wait "$pid"
rc=$?
rm -f "$ready"
[ $rc = 124 ] && rc=0 # --max-seconds passed
exit $rc
