#!/bin/sh
# deploy.sh -- runs redbench's deployment modes on Fly.io with flyctl: the collector, and
# one benchmark per call in mode single, client-server, multi-region, orchestrated or
# cluster. Machines created for a benchmark are destroyed after it (also on failure or
# Ctrl-C). --dry-run prints every command instead of running it. See docs/fly.md.
set -eu

usage() {
  cat <<'USAGE'
usage: fly/deploy.sh [options] MODE [-- RUN_OPTIONS...]

MODE:
  collector      create/update the collector app (volume, secrets, one machine)
  single         one runner machine; redis-server and the runner on its loopback
  client-server  target machine + one runner machine in the same region
  multi-region   target in --server-region, one runner per --regions entry
  orchestrated   target + --workers worker machines leased by the collector
  cluster        primary + --replicas replicas; lag and read scaling from a runner
  teardown       destroy the benchmark machines of every app (not the collector)

options:
  --dry-run             print the commands, run nothing (secrets shown as ***)
  --prefix P            app names P-collector, P-target, P-runner, P-worker (default redbench)
  --org ORG             Fly organization for new apps (default personal)
  --server-region R     the server's (and collector's) region (default iad)
  --regions LIST        multi-region client regions (default syd,fra,gru)
  --workers N           orchestrated workers (default 3)
  --replicas N          cluster replicas (default 2)
  --preset P            machine size of target, runners, workers (default performance-1x)
  --collector URL       the collector as the benchmark machines reach it, for uploads and
                        leases (default http://P-collector.internal:8080, Fly's private
                        network: redbench speaks plain HTTP, 6PN is WireGuard-encrypted)
  --collector-public URL  the collector as this script reaches it, to start benchmarks and
                        poll for results with curl (default https://P-collector.fly.dev)
  --run-id ID           run id prefix (default rb-UTCSTAMP); region runs add -REGION
  --volume-gb N         collector volume size (default 10)
  --timeout SECONDS     how long to wait for a benchmark's results (default 1800)
  --plan FILE           orchestrated: the benchmark plan, JSON sent as it is
                        (docs/orchestrated.md); default: target, workers, regions, preset
RUN_OPTIONS go to `redbench run` (default: --scenarios set,get --concurrency 50
--pipeline 1,16 --iterations 5 --duration 10); orchestrated takes --plan instead.

environment: REDBENCH_TOKEN (required: the collector's admin/ingest token),
REDIS_PASSWORD (target AUTH; generated when unset), REDBENCH_BRANCH, REDBENCH_COMMIT,
FLY (the flyctl command, default fly), REDBENCH_POLL_SECONDS (default 10).
exit status: 0 ok, 1 the benchmark failed or timed out, 2 usage or set-up error.
USAGE
}

DRY=0 PREFIX=redbench ORG=personal SREGION=iad REGIONS=syd,fra,gru WORKERS=3 REPLICAS=2
PRESET=performance-1x COLLECTOR= PUBLIC= RUNID= VOLGB=10 TIMEOUT=1800 MODE= PLAN=
FLY=${FLY:-fly}
POLL=${REDBENCH_POLL_SECONDS:-10}   # seconds between polls of the collector
die() { echo "deploy.sh: $*" >&2; exit 2; }
num() { case $2 in ''|*[!0-9]*) die "$1: want a number, got '$2'" ;; esac; }
name() { case $2 in ''|*[!A-Za-z0-9._-]*) die "$1: want [A-Za-z0-9._-], got '$2'" ;; esac; }

while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY=1 ;;
    --prefix) PREFIX=${2:-}; name --prefix "$PREFIX"; shift ;;
    --org) ORG=${2:-}; name --org "$ORG"; shift ;;
    --server-region) SREGION=${2:-}; name --server-region "$SREGION"; shift ;;
    --regions) REGIONS=${2:-}; case $REGIONS in ''|*[!a-z0-9,]*) die "--regions: want e.g. syd,fra,gru" ;; esac; shift ;;
    --workers) WORKERS=${2:-}; num --workers "$WORKERS"; shift ;;
    --replicas) REPLICAS=${2:-}; num --replicas "$REPLICAS"; shift ;;
    --preset) PRESET=${2:-}; name --preset "$PRESET"; shift ;;
    --collector) COLLECTOR=${2:-}; [ -n "$COLLECTOR" ] || die "--collector: want a URL"; shift ;;
    --collector-public) PUBLIC=${2:-}; [ -n "$PUBLIC" ] || die "--collector-public: want a URL"; shift ;;
    --run-id) RUNID=${2:-}; name --run-id "$RUNID"; shift ;;
    --volume-gb) VOLGB=${2:-}; num --volume-gb "$VOLGB"; shift ;;
    --timeout) TIMEOUT=${2:-}; num --timeout "$TIMEOUT"; shift ;;
    --plan) PLAN=${2:-}; [ -r "$PLAN" ] || die "--plan: cannot read '$PLAN'"; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$MODE" ] || die "one MODE only"; MODE=$1 ;;
  esac
  shift
done
[ -n "$MODE" ] || { usage >&2; exit 2; }
case $MODE in collector|single|client-server|multi-region|orchestrated|cluster|teardown) ;;
  *) die "unknown mode '$MODE' (see --help)" ;; esac
[ "$WORKERS" -ge 1 ] && [ "$WORKERS" -le 64 ] || die "--workers: 1-64"
[ "$REPLICAS" -ge 1 ] && [ "$REPLICAS" -le 16 ] || die "--replicas: 1-16"
if [ $# -eq 0 ]; then set -- --scenarios set,get --concurrency 50 --pipeline 1,16 --iterations 5 --duration 10; fi
RUN_ARGS=$*
TOKEN=${REDBENCH_TOKEN:-}
if [ -z "$TOKEN" ]; then
  [ "$DRY" = 1 ] && TOKEN=dry-run-token || die "REDBENCH_TOKEN must hold the collector's token"
fi
RPASS=${REDIS_PASSWORD:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
[ -n "$RUNID" ] || RUNID=rb-$(date -u +%Y%m%dT%H%M%S)
APP_C=$PREFIX-collector APP_T=$PREFIX-target APP_R=$PREFIX-runner APP_W=$PREFIX-worker
# Machines upload over the private network (redbench has no TLS); this script's curl
# goes through the public https service unless told otherwise.
[ -n "$PUBLIC" ] || PUBLIC=https://$APP_C.fly.dev
[ -n "$COLLECTOR" ] || COLLECTOR=http://$APP_C.internal:8080
case $COLLECTOR in https://*) die "--collector: redbench speaks plain HTTP; give the private http://APP.internal:8080 URL (and --collector-public for the https one)" ;; esac
IMAGE=registry.fly.io/$APP_R:$RUNID
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# run CMD...: prints the command (secret values masked) and runs it unless --dry-run.
export RB_MASK1="$TOKEN" RB_MASK2="$RPASS"
mask() {
  awk '{ for (k = 1; k <= 2; k++) { m = ENVIRON["RB_MASK" k]; if (m == "") continue
           while ((i = index($0, m)) > 0) $0 = substr($0, 1, i - 1) "***" substr($0, i + length(m)) }
         print }'
}
# show CMD...: the command as one shell-quoted line (copy-pastable).
show() {
  line=+
  for a in "$@"; do
    case $a in
      *[!A-Za-z0-9_./:=,@%+-]*|'') a="'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" ;;
    esac
    line="$line $a"
  done
  printf '%s\n' "$line" | mask
}
run() {
  show "$@"
  [ "$DRY" = 1 ] || "$@"
}
# out CMD...: like run, for commands whose output the script reads; prints PLACEHOLDER
# in a dry run.
out() {
  placeholder=$1; shift
  show "$@" >&2
  if [ "$DRY" = 1 ]; then echo "$placeholder"; else "$@" 2>/dev/null; fi
}

ensure_app() {
  if [ "$DRY" = 1 ] || ! "$FLY" status -a "$1" >/dev/null 2>&1; then
    run "$FLY" apps create "$1" --org "$ORG"
  fi
}

# deploy_app APP TOML [--env K=V...]: builds the image and runs one machine of the app.
deploy_app() {
  app=$1 toml=$2; shift 2
  run "$FLY" deploy -c "fly/$toml" --dockerfile Dockerfile -a "$app" --primary-region "$SREGION" \
    --ha=false --yes "$@"
}

# Every machine of the given apps is destroyed (the benchmark's machines only).
teardown() {
  for app in "$@"; do
    ids=$(out "<each-machine-of-$app>" "$FLY" machine list -a "$app" -q || true)
    for id in $ids; do
      run "$FLY" machine destroy --force "$id" -a "$app" || true
    done
  done
}
TORN=0 CLEAN_APPS=
cleanup() {
  if [ "$TORN" = 1 ]; then return 0; fi
  TORN=1
  if [ -n "$CLEAN_APPS" ]; then teardown $CLEAN_APPS; fi
}
trap 'cleanup' EXIT
trap 'exit 1' INT TERM

# wait_run ID: polls the collector until the run is stored (bounded by --timeout).
wait_run() {
  if [ "$DRY" = 1 ]; then
    echo "+ curl -fsS -H 'Authorization: Bearer ***' $PUBLIC/api/v1/runs/$1 (until stored, <= ${TIMEOUT}s)"
    return 0
  fi
  end=$(( $(date +%s) + TIMEOUT ))
  while [ "$(date +%s)" -lt "$end" ]; do
    if curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "$PUBLIC/api/v1/runs/$1" 2>/dev/null; then
      echo "deploy.sh: run $1 stored: $PUBLIC/runs/$1"; return 0
    fi
    sleep "$POLL"
  done
  echo "deploy.sh: run $1 not stored after ${TIMEOUT}s" >&2; return 1
}

# runner REGION RUN_ID ROLE ARGS...: one-off runner machine (removed when it exits); the
# role and its arguments follow "--" so flyctl does not read them as its own flags.
runner() {
  region=$1 id=$2; shift 2
  run "$FLY" machine run "$IMAGE" -a "$APP_R" -r "$region" --vm-size "$PRESET" --rm --restart no \
    --detach --name "$id" --env "REDBENCH_BRANCH=${REDBENCH_BRANCH:-main}" \
    --env "REDBENCH_COMMIT=${REDBENCH_COMMIT:-}" -- \
    "$@" --run-id "$id" --collector "$COLLECTOR" --preset "$PRESET" $RUN_ARGS
}

# The runner app: its secrets and its image (built once, pushed, run by `fly machine run`).
runner_app() {
  ensure_app "$APP_R"
  run "$FLY" secrets set "REDBENCH_TOKEN=$TOKEN" "REDBENCH_TARGET_PASSWORD=$RPASS" --stage -a "$APP_R"
  run "$FLY" deploy -c fly/runner.toml --dockerfile Dockerfile -a "$APP_R" --build-only --push \
    --image-label "$RUNID"
}

target_app() {
  ensure_app "$APP_T"
  run "$FLY" secrets set "REDIS_PASSWORD=$RPASS" --stage -a "$APP_T"
  CLEAN_APPS="$CLEAN_APPS $APP_T"
  deploy_app "$APP_T" target.toml --vm-size "$PRESET"
}
TARGET=$APP_T.internal:6379

case $MODE in
collector)
  ensure_app "$APP_C"
  vols=$(out "" "$FLY" volumes list -a "$APP_C" -q || true)
  [ -n "$vols" ] || run "$FLY" volumes create redbench_data --region "$SREGION" --size "$VOLGB" --yes -a "$APP_C"
  run "$FLY" secrets set "REDBENCH_TOKEN=$TOKEN" --stage -a "$APP_C"
  deploy_app "$APP_C" collector.toml
  echo "deploy.sh: collector at https://$APP_C.fly.dev (private: http://$APP_C.internal:8080)"
  ;;
single)
  runner_app
  CLEAN_APPS="$APP_R"
  runner "$SREGION" "$RUNID" single --server-region "$SREGION" --client-region "$SREGION"
  wait_run "$RUNID"
  ;;
client-server)
  target_app
  runner_app
  CLEAN_APPS="$CLEAN_APPS $APP_R"
  runner "$SREGION" "$RUNID" run --target "$TARGET" --mode client-server \
    --server-region "$SREGION" --client-region "$SREGION"
  wait_run "$RUNID"
  ;;
multi-region)
  target_app
  runner_app
  CLEAN_APPS="$CLEAN_APPS $APP_R"
  for r in $(echo "$REGIONS" | tr ',' ' '); do
    runner "$r" "$RUNID-$r" run --target "$TARGET" --mode multi-region \
      --server-region "$SREGION" --client-region "$r"
  done
  rc=0
  for r in $(echo "$REGIONS" | tr ',' ' '); do wait_run "$RUNID-$r" || rc=1; done
  exit $rc
  ;;
orchestrated)
  target_app
  ensure_app "$APP_W"
  run "$FLY" secrets set "REDBENCH_TOKEN=$TOKEN" "REDBENCH_TARGET_PASSWORD=$RPASS" --stage -a "$APP_W"
  CLEAN_APPS="$CLEAN_APPS $APP_W"
  deploy_app "$APP_W" worker.toml --env "REDBENCH_COLLECTOR=$COLLECTOR"
  run "$FLY" scale count "$WORKERS" -a "$APP_W" --region "$SREGION" --yes
  # The plan: --plan's file as it is, else the target, workers and regions of this call.
  if [ -n "$PLAN" ]; then plan=$(cat "$PLAN"); else
    plan="{\"target\":\"$TARGET\",\"workers\":$WORKERS,\"server_region\":\"$SREGION\",\"client_region\":\"$SREGION\",\"preset\":\"$PRESET\",\"branch\":\"${REDBENCH_BRANCH:-main}\"}"
  fi
  id=$(out '{"id":"<benchmark-id>"}' curl -fsS -X POST -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: application/json' -d "$plan" "$PUBLIC/benchmark/start" |
       sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || { echo "deploy.sh: the collector did not start the benchmark" >&2; exit 1; }
  if [ "$DRY" = 1 ]; then
    echo "+ curl -fsS $PUBLIC/benchmark/status/$id (until complete or failed, <= ${TIMEOUT}s)"
  else
    end=$(( $(date +%s) + TIMEOUT )) st=
    while [ "$(date +%s)" -lt "$end" ]; do
      st=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$PUBLIC/benchmark/status/$id" |
           sed -n 's/^{"id":"[^"]*","status":"\([a-z]*\)".*/\1/p')
      case $st in complete) echo "deploy.sh: benchmark $id complete: $PUBLIC/benchmarks/$id"; break ;;
        failed) echo "deploy.sh: benchmark $id failed" >&2; exit 1 ;; esac
      sleep "$POLL"
    done
    [ "$st" = complete ] || { echo "deploy.sh: benchmark $id not complete after ${TIMEOUT}s" >&2; exit 1; }
  fi
  ;;
cluster)
  runner_app
  target_app
  CLEAN_APPS="$CLEAN_APPS $APP_R"
  primary=$(out "<primary-machine-id>" "$FLY" machine list -a "$APP_T" -q | head -n 1)
  i=1
  while [ $i -le "$REPLICAS" ]; do
    run "$FLY" machine run "$IMAGE" -a "$APP_T" -r "$SREGION" --vm-size "$PRESET" --restart no \
      --detach --name "$RUNID-replica$i" --env "REDBENCH_REPLICAOF=$primary.vm.$APP_T.internal" -- target
    i=$((i + 1))
  done
  # The runner measures the matrix on the primary, the replication lag and read scaling
  # over the replicas (redbench lab cluster on servers it did not start).
  reps=$(out "<replica-machine-ids>" "$FLY" machine list -a "$APP_T" -q | grep -v "^$primary\$" || true)
  set --
  for id in $reps; do set -- "$@" --replica "$id.vm.$APP_T.internal:6379"; done
  run "$FLY" machine run "$IMAGE" -a "$APP_R" -r "$SREGION" --vm-size "$PRESET" --rm --restart no \
    --detach --name "$RUNID" --env "REDBENCH_BRANCH=${REDBENCH_BRANCH:-main}" \
    --env "REDBENCH_COMMIT=${REDBENCH_COMMIT:-}" -- \
    lab cluster --primary "$primary.vm.$APP_T.internal:6379" "$@" --run-id "$RUNID" \
    --collector "$COLLECTOR" --server-region "$SREGION" --preset "$PRESET" -- $RUN_ARGS
  wait_run "$RUNID"
  ;;
teardown)
  teardown "$APP_T" "$APP_R" "$APP_W"
  TORN=1
  ;;
esac
