# lib.sh -- helpers for the end-to-end tests: real redis-server and collector
# processes on loopback, started and stopped by the test. Source it.
# Each check prints "ok - NAME" or "not ok - NAME"; tests/run.sh counts them.
set -u
RB=${RB_BIN:?RB_BIN must point at the redbench binary}
TMP=$(mktemp -d /tmp/redbench-e2e.XXXXXX)
PIDS=""
FAILS=0
export REDBENCH_TOKEN=e2e-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
export REDBENCH_SPOOL="$TMP/spool"
export REDBENCH_BRANCH=main

cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do
    # Bounded wait: 5 s, then force.
    i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; FAILS=$((FAILS+1)); }
# check NAME CMD...: runs CMD, ok if it exits 0.
check() { name=$1; shift; if "$@"; then ok "$name"; else notok "$name"; fi; }

# port_free PORT: 0 if nothing accepts connections on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The ports free_port picks from: the 12000 below the kernel's ephemeral range
# (ip_local_port_range, 32768.. here), so that no client connection's local port
# (nothing listens there, yet bind fails) can hold one; 30000..49999 if that
# range starts too low.
EPH_LO=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
case $EPH_LO in ''|*[!0-9]*) EPH_LO=0 ;; esac
if [ "$EPH_LO" -ge 22000 ]; then PORT_BASE=$((EPH_LO - 12000)) PORT_SPAN=11990
else PORT_BASE=30000 PORT_SPAN=20000; fi

# free_port [COUNT]: prints a random loopback port P (see PORT_BASE) such that
# P .. P+COUNT-1 accept no connection now (COUNT defaults to 1). Another
# process may still take one before it is used: callers that bind it check.
free_port() {
  local n=${1:-1} p k okp try
  for try in $(seq 1 100); do
    p=$(( (RANDOM % PORT_SPAN) + PORT_BASE ))
    okp=1
    for k in $(seq 0 $((n - 1))); do port_free $((p + k)) || { okp=0; break; }; done
    [ $okp = 1 ] && { echo "$p"; return 0; }
  done
  echo "# no free port found" >&2; return 1
}

# start_redis [ARGS...]: starts redis-server (with ARGS added to its options)
# on a free loopback port; sets REDIS_PORT. The server that answers must be the
# one started here (its INFO process_id), not another test's holding the port.
start_redis() {
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    REDIS_PORT=$(free_port) || continue
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$TMP" --logfile "$TMP/redis-$REDIS_PORT.log" --daemonize no "$@" &
    rpid=$!
    # Bounded: 30 s (a loaded machine), less when the server exits (port taken).
    for i in $(seq 1 300); do
      if redis-cli -p "$REDIS_PORT" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$rpid"; then
        PIDS="$PIDS $rpid"; return 0
      fi
      kill -0 $rpid 2>/dev/null || break
      sleep 0.1
    done
    kill $rpid 2>/dev/null; wait $rpid 2>/dev/null
  done
  echo "# could not start redis-server" >&2; return 1
}

# start_collector DB [ARGS...]: starts `redbench serve` on a free port; sets URL, SERVE_PID.
start_collector() {
  db=$1; shift
  # Reads are open unless the test asks for a private collector (RB_PRIVATE=1).
  pub=--public-read; [ "${RB_PRIVATE:-0}" = 1 ] && pub=
  # Empty it first: a restart must not read the previous collector's URL
  # before the new process has truncated the file.
  : > "$TMP/serve.out"
  "$RB" serve --db "$db" --listen 127.0.0.1:0 $pub "$@" > "$TMP/serve.out" 2> "$TMP/serve.err" &
  SERVE_PID=$!
  PIDS="$PIDS $SERVE_PID"
  # Bounded: 60 s (migrations and sanitizers on a loaded machine), less if it exits.
  for i in $(seq 1 600); do
    URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$TMP/serve.out")
    [ -n "$URL" ] && return 0
    kill -0 $SERVE_PID 2>/dev/null || break
    sleep 0.1
  done
  echo "# collector did not start:" >&2; cat "$TMP/serve.err" >&2; return 1
}

# stop_collector: SIGTERM, then its exit status must be 0 (sanitizers report
# leaks and errors through it). Bounded: after 60 s it is killed (-9) and the
# status is not 0.
stop_collector() {
  kill -TERM "$SERVE_PID"
  i=0; while kill -0 "$SERVE_PID" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  kill -0 "$SERVE_PID" 2>/dev/null && { echo "# collector still running 60 s after SIGTERM: killed" >&2; kill -9 "$SERVE_PID"; }
  wait "$SERVE_PID"
  SERVE_RC=$?
  PIDS=$(echo "$PIDS" | sed "s/\b$SERVE_PID\b//")
  return $SERVE_RC
}

# analyzed DB: waits (at most 300 s) until the collector has judged every stored
# run: its analysis thread runs behind the uploads, at a lower priority.
analyzed() {
  for i in $(seq 1 3000); do
    [ "$(sqlite3 -cmd '.timeout 5000' "$1" "select count(*) from runs where verdict_status = 'pending'")" = 0 ] && return 0
    sleep 0.1
  done
  echo "# analysis still pending after 300 s" >&2; return 1
}

# sql DB QUERY: one value from the warehouse.
sql() { sqlite3 -cmd '.timeout 5000' "$1" "$2"; }

# post BODYFILE [TOKEN]: POSTs a run; prints "STATUS BODY".
post() {
  tok=${2-$REDBENCH_TOKEN}
  if [ -n "$tok" ]; then
    curl -s -m 30 -o "$TMP/post.body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/json' --data-binary @"$1" "$URL/api/v1/runs"
  else
    curl -s -m 30 -o "$TMP/post.body" -w '%{http_code}' -H 'Content-Type: application/json' \
      --data-binary @"$1" "$URL/api/v1/runs"
  fi
  printf ' '; cat "$TMP/post.body"
}

finish() { exit $(( FAILS > 0 )); }

# jget FILE PATH: a value from a JSON file (SQLite's JSON functions).
jget() { sqlite3 :memory: "select json_extract(readfile('$1'), '$2')"; }
# jedit FILE EXPR: prints the JSON of FILE transformed by EXPR, in which the
# document is named "d", e.g. "json_set(d, '\$.run_id', 'x')".
jedit() { sqlite3 :memory: "with t(d) as (select readfile('$1')) select $2 from t"; }
