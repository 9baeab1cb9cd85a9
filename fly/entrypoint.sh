#!/bin/sh
# entrypoint.sh -- the container entry point of every Fly role, one image for all:
#   collector        redbench serve on $REDBENCH_DB, under Litestream when a bucket is set
#   target           redis-server on $REDBENCH_TARGET_PORT (or $REDBENCH_TARGET_CMD), files in
#                    $REDBENCH_TARGET_DIR (default a new temporary directory); a replica of
#                    $REDBENCH_REPLICAOF (HOST[:PORT]) when set
#   worker           redbench worker --collector $REDBENCH_COLLECTOR
#   single ARGS...   a private redis-server on loopback, then redbench run --mode single ARGS
#   run ARGS...      redbench run ARGS;  lab ARGS...: redbench lab ARGS (cluster on Fly)
#   anything else is executed as given.
# Secrets arrive as environment variables (fly secrets): REDBENCH_TOKEN, REDIS_PASSWORD
# (target) / REDBENCH_TARGET_PASSWORD (clients), AWS_* (Litestream). None is ever printed.
set -eu
RB=${REDBENCH_BIN:-redbench}
role=${1:-help}
[ $# -gt 0 ] && shift

case $role in
collector)
  db=${REDBENCH_DB:-/data/redbench.db}
  set -- serve --db "$db" --listen "${REDBENCH_LISTEN:-[::]:8080}"
  [ "${REDBENCH_PUBLIC_READ:-0}" = 1 ] && set -- "$@" --public-read
  bucket=${LITESTREAM_BUCKET:-${BUCKET_NAME:-}}
  if [ -n "$bucket" ] && command -v litestream >/dev/null; then
    export LITESTREAM_BUCKET="$bucket" REDBENCH_DB="$db"
    cfg=${LITESTREAM_CONFIG:-/etc/litestream.yml}
    # An empty volume (new machine, lost disk) starts from the latest replica.
    litestream restore -config "$cfg" -if-db-not-exists -if-replica-exists "$db"
    exec litestream replicate -config "$cfg" -exec "$RB $*"
  fi
  exec "$RB" "$@"
  ;;
target)
  if [ -n "${REDBENCH_TARGET_CMD:-}" ]; then exec sh -c "$REDBENCH_TARGET_CMD"; fi
  port=${REDBENCH_TARGET_PORT:-6379}
  # A replica's first sync lands in a file: keep it in its own directory, not the cwd.
  set -- --port "$port" --bind "${REDBENCH_TARGET_BIND:-* -::*}" --save '' --appendonly no \
    --dir "${REDBENCH_TARGET_DIR:-$(mktemp -d)}" \
    --maxmemory "${REDBENCH_TARGET_MAXMEMORY:-0}" --maxmemory-policy noeviction --daemonize no
  if [ -n "${REDIS_PASSWORD:-}" ]; then
    set -- "$@" --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD"
  else
    set -- "$@" --protected-mode no
  fi
  # cluster mode: a replica follows REDBENCH_REPLICAOF=HOST[:PORT] (default port: ours).
  if [ -n "${REDBENCH_REPLICAOF:-}" ]; then
    case $REDBENCH_REPLICAOF in
      *:*) set -- "$@" --replicaof "${REDBENCH_REPLICAOF%:*}" "${REDBENCH_REPLICAOF##*:}" ;;
      *) set -- "$@" --replicaof "$REDBENCH_REPLICAOF" "$port" ;;
    esac
  fi
  exec redis-server "$@"
  ;;
worker)
  : "${REDBENCH_COLLECTOR:?REDBENCH_COLLECTOR must name the collector}"
  exec "$RB" worker --collector "$REDBENCH_COLLECTOR" --name "${REDBENCH_WORKER_NAME:-${FLY_MACHINE_ID:-$(hostname)}}" "$@"
  ;;
single)
  port=${REDBENCH_SINGLE_PORT:-6379}
  dir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  i=0
  until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "entrypoint: redis-server did not start" >&2; exit 2; }
    sleep 0.1
  done
  rc=0
  "$RB" run --target "127.0.0.1:$port" --mode single "$@" || rc=$?
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit $rc
  ;;
run|lab) exec "$RB" "$role" "$@" ;;
help|-h|--help)
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  ;;
*) exec "$role" "$@" ;;
esac
