# test_fly.sh -- fly/: the fly.toml files parse and say what docs/fly.md says, deploy.sh
# --dry-run plans every mode without calling fly, deploy.sh single runs for real against a
# stand-in fly that executes the image's entry point here (real redis-server, run, collector),
# the entry point's target and collector roles work, the Dockerfile's build stage copies all
# the build needs, its runtime stage installs every library the binary links, and the cost
# table of docs/fly.md equals the warehouse's prices.
. "$(dirname "$0")/lib.sh"
ROOT=${RB_ROOT:?}
FLYDIR=$ROOT/fly

# --- fly.toml files (Python's tomllib: a real TOML parser) ---
cat > "$TMP/toml.py" <<'EOF'
import sys, tomllib
d = {}
for name in ("collector", "target", "runner", "worker"):
    with open(f"{sys.argv[1]}/{name}.toml", "rb") as f:
        d[name] = tomllib.load(f)
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + "fly.toml: " + name)
c = d["collector"]
check("collector mounts the volume at /data", c.get("mounts", {}).get("destination") == "/data")
check("collector's database lives on the volume", c["env"]["REDBENCH_DB"].startswith("/data/"))
hs = c.get("http_service", {})
check("collector serves port 8080 over https", hs.get("internal_port") == 8080 and hs.get("force_https") is True)
check("collector health check GET /healthz", any(k.get("path") == "/healthz" and k.get("method") == "GET" for k in hs.get("checks", [])))
check("collector never scales to zero", hs.get("auto_stop_machines") == "off" and hs.get("min_machines_running") == 1)
check("collector exposes /metrics on 8080", c.get("metrics") == {"port": 8080, "path": "/metrics"})
check("collector image: the collector stage", c["build"].get("build-target") == "collector")
check("no fly.toml has a regions key", all("regions" not in t and "region" not in t for t in d.values()))
t = d["target"]
check("target has no public service", "services" not in t and "http_service" not in t)
check("target listens on 6379", t["env"]["REDBENCH_TARGET_PORT"] == "6379")
check("target runs the entry point's target role", t["processes"]["target"].endswith("target"))
for name in ("target", "runner", "worker"):
    vm = d[name].get("vm", [{}])[0]
    check(f"{name} runs on a performance CPU", vm.get("size", "").startswith("performance-") or vm.get("cpu_kind") == "performance")
check("worker runs the worker role", d["worker"]["processes"]["worker"].endswith("worker"))
for name, t in d.items():
    check(f"{name} builds ../Dockerfile", t["build"].get("dockerfile") == "../Dockerfile")
EOF
python3 "$TMP/toml.py" "$FLYDIR"

# --- dry runs: a fly that records any call; none may happen ---
mkdir -p "$TMP/bin"
cat > "$TMP/bin/fly" <<EOF
#!/bin/sh
echo "\$*" >> "$TMP/fly-called"
exit 1
EOF
chmod +x "$TMP/bin/fly"
dry() { PATH="$TMP/bin:$PATH" REDBENCH_TOKEN=tok-SECRET-123 REDIS_PASSWORD=pw-SECRET-456 \
  sh "$FLYDIR/deploy.sh" --dry-run --run-id rb-t "$@" > "$TMP/dry.out" 2>&1; }
has() { grep -qF -- "$1" "$TMP/dry.out"; }
count() { grep -cF -- "$1" "$TMP/dry.out"; }
# destroyed_all APP...: every app whose machines the plan creates is torn down.
destroyed() { for a in "$@"; do has "fly machine destroy --force '<each-machine-of-$a>' -a $a" || return 1; done; }
for m in collector single client-server multi-region orchestrated cluster teardown; do
  dry "$m"; rc=$?
  check "dry-run $m: exit 0" [ $rc = 0 ]
  check "dry-run $m: no secret printed" sh -c "! grep -q SECRET '$TMP/dry.out'"
done
rm -f "$TMP/fly-called"
dry collector
check "collector: volume at the server region, secret staged, one machine" sh -c \
  "grep -qF 'fly volumes create redbench_data --region iad --size 10 --yes -a redbench-collector' '$TMP/dry.out' &&
   grep -qF 'fly secrets set REDBENCH_TOKEN=*** --stage -a redbench-collector' '$TMP/dry.out' &&
   grep -qF 'fly deploy -c fly/collector.toml --dockerfile Dockerfile -a redbench-collector --primary-region iad --ha=false' '$TMP/dry.out'"
dry single
check "single: one performance runner running the single role, removed after" \
  has "fly machine run registry.fly.io/redbench-runner:rb-t -a redbench-runner -r iad --vm-size performance-1x --rm --restart no"
check "single: the run is recorded with its preset and collector" has "-- single --server-region iad --client-region iad --run-id rb-t --collector http://redbench-collector.internal:8080 --preset performance-1x"
check "single: its machines destroyed after" destroyed redbench-runner
dry client-server -- --scenarios get --requests 1000
check "client-server: target deployed from target.toml" has "fly deploy -c fly/target.toml --dockerfile Dockerfile -a redbench-target --primary-region iad"
check "client-server: runner targets the private address, mode recorded" has "-- run --target redbench-target.internal:6379 --mode client-server"
check "client-server: run options passed through" has "--scenarios get --requests 1000"
check "client-server: target and runner destroyed after" destroyed redbench-target redbench-runner
dry multi-region --regions syd,fra,gru --server-region iad
check "multi-region: one runner per region" [ "$(count 'fly machine run registry.fly.io/redbench-runner:rb-t -a redbench-runner -r ')" = 3 ]
for r in syd fra gru; do
  check "multi-region: $r records its client region and its own run" has "--mode multi-region --server-region iad --client-region $r --run-id rb-t-$r"
done
check "multi-region: machines destroyed after" destroyed redbench-target redbench-runner
dry orchestrated --workers 4
check "orchestrated: 4 workers from worker.toml" sh -c "grep -qF 'fly deploy -c fly/worker.toml' '$TMP/dry.out' && grep -qF 'fly scale count 4 -a redbench-worker --region iad --yes' '$TMP/dry.out'"
check "orchestrated: the benchmark is started on the collector" has '"workers":4'
check "orchestrated: workers and target destroyed after" destroyed redbench-target redbench-worker
dry cluster --replicas 3
check "cluster: 3 replicas following the primary" [ "$(count "'REDBENCH_REPLICAOF=<primary-machine-id>.vm.redbench-target.internal' -- target")" = 3 ]
check "cluster: the runner measures lag and read scaling on the primary and replicas" \
  has "-- lab cluster --primary '<primary-machine-id>.vm.redbench-target.internal:6379' --replica '<replica-machine-ids>.vm.redbench-target.internal:6379' --run-id rb-t"
check "cluster: machines destroyed after" destroyed redbench-target redbench-runner
dry --prefix acme multi-region --regions ams
check "--prefix names every app" sh -c "grep -qF -- '-a acme-runner -r ams' '$TMP/dry.out' && ! grep -q 'redbench-' '$TMP/dry.out'"
dry single
check "the script's own polls go to the public https URL" has "curl -fsS -H 'Authorization: Bearer ***' https://redbench-collector.fly.dev/api/v1/runs/rb-t"
dry orchestrated
check "orchestrated workers reach the collector on the private network" has "REDBENCH_COLLECTOR=http://redbench-collector.internal:8080"
check "  and the benchmark is started through the public URL" has "https://redbench-collector.fly.dev/benchmark/start"
dry --collector http://other-collector.internal:8080 single
check "--collector alone: the machines use it, the polls stay on the public URL" sh -c \
  "grep -qF -- '--collector http://other-collector.internal:8080 ' '$TMP/dry.out' && grep -qF 'https://redbench-collector.fly.dev/api/v1/runs/rb-t' '$TMP/dry.out'"
dry --collector-public https://bench.example.org single
check "--collector-public: the polls go there" has "https://bench.example.org/api/v1/runs/rb-t"
dry --collector https://redbench-collector.fly.dev single; rc=$?
check "an https --collector: exit 2 (redbench has no TLS, a runner could not upload)" sh -c "[ $rc = 2 ] && grep -q 'plain HTTP' '$TMP/dry.out'"
check "no dry run called fly" [ ! -e "$TMP/fly-called" ]
dry bogus-mode; rc=$?
check "an unknown mode: exit 2 with a message" sh -c "[ $rc = 2 ] && grep -q 'unknown mode' '$TMP/dry.out'"
dry --workers x orchestrated; rc=$?
check "a bad --workers: exit 2" [ $rc = 2 ]
PATH="$TMP/bin:$PATH" REDBENCH_TOKEN= sh "$FLYDIR/deploy.sh" single > "$TMP/notok.out" 2>&1; rc=$?
check "a real run without REDBENCH_TOKEN: exit 2, nothing called" sh -c "[ $rc = 2 ] && [ ! -e '$TMP/fly-called' ]"

# --- deploy.sh single for real, against a fly that runs the entry point here ---
start_collector "$TMP/fly.db"
RPORT=$(free_port)
cat > "$TMP/bin/fly" <<EOF
#!/bin/sh
# A stand-in for flyctl: logs every call; "machine run IMAGE [flags] -- ROLE ARGS" runs the
# image's entry point on this machine; "machine list -q" names one machine per app.
echo "\$*" >> "$TMP/fly-calls"
case "\$1 \$2" in
  "status -a") exit 1 ;;
  "machine list") echo "m-\$4-1"; exit 0 ;;
  "machine run")
    while [ \$# -gt 0 ] && [ "\$1" != -- ]; do
      case \$1 in --env) export "\$2"; shift ;; esac
      shift
    done
    shift
    REDBENCH_BIN="$RB" REDBENCH_SINGLE_PORT=$RPORT sh "$FLYDIR/entrypoint.sh" "\$@" > "$TMP/machine.out" 2>&1 &
    exit 0 ;;
esac
exit 0
EOF
chmod +x "$TMP/bin/fly"
PATH="$TMP/bin:$PATH" REDBENCH_COMMIT=f1f1f1 REDBENCH_POLL_SECONDS=1 timeout 200 sh "$FLYDIR/deploy.sh" --run-id rb-fly-single \
  --collector "$URL" --collector-public "$URL" --timeout 180 single -- --scenarios get,set --concurrency 2 --requests 200 \
  --iterations 2 --warmup 0 --dataset-size 100 --quiet > "$TMP/real.out" 2>&1; rc=$?
check "deploy.sh single (stand-in fly): exit 0" [ $rc = 0 ]
[ $rc = 0 ] || { sed 's/^/# deploy: /' "$TMP/real.out"; sed 's/^/# machine: /' "$TMP/machine.out"; }
check "  the run is in the warehouse with mode single, region iad, preset performance-1x" \
  [ "$(sql "$TMP/fly.db" "SELECT mode||' '||client_region||' '||server_region||' '||target_preset||' '||commit_sha FROM runs WHERE id='rb-fly-single'")" = "single iad iad performance-1x f1f1f1" ]
check "  with both operations measured" [ "$(sql "$TMP/fly.db" "SELECT count(*) FROM results WHERE run_id='rb-fly-single' AND requests > 0")" = 2 ]
check "  the machine it listed was destroyed after" grep -qx 'machine destroy --force m-redbench-runner-1 -a redbench-runner' "$TMP/fly-calls"
check "  the app was created since it did not exist" grep -q '^apps create redbench-runner --org personal' "$TMP/fly-calls"
# deploy.sh returns once the run is in the warehouse; the entry point shuts its
# redis-server down right after the upload: bounded wait (30 s) for that.
for i in $(seq 1 300); do redis-cli -p $RPORT ping >/dev/null 2>&1 || break; sleep 0.1; done
check "  the entry point shut its redis-server down" sh -c "! redis-cli -p $RPORT ping >/dev/null 2>&1"
check "  no secret in what it printed" sh -c "! grep -q \"\$REDBENCH_TOKEN\" '$TMP/real.out'"

# --- the entry point's roles ---
# Three free consecutive ports: target, replica, collector.
TPORT=$(free_port 3)
mkdir -p "$TMP/tdir1" "$TMP/tdir2"
REDBENCH_TARGET_PORT=$TPORT REDBENCH_TARGET_BIND=127.0.0.1 REDIS_PASSWORD=pw-ep REDBENCH_TARGET_DIR="$TMP/tdir1" \
  sh "$FLYDIR/entrypoint.sh" target > "$TMP/target.out" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 300); do redis-cli -p $TPORT -a pw-ep --no-auth-warning ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
check "entrypoint target: redis-server answers with the password" sh -c "redis-cli -p $TPORT -a pw-ep --no-auth-warning ping | grep -q PONG"
check "entrypoint target: refuses without it" sh -c "redis-cli -p $TPORT ping 2>&1 | grep -q NOAUTH"
SPORT=$(( TPORT + 1 ))
REDBENCH_TARGET_PORT=$SPORT REDBENCH_TARGET_BIND=127.0.0.1 REDIS_PASSWORD=pw-ep REDBENCH_REPLICAOF=127.0.0.1:$TPORT \
  REDBENCH_TARGET_DIR="$TMP/tdir2" \
  sh "$FLYDIR/entrypoint.sh" target > "$TMP/replica.out" 2>&1 &
PIDS="$PIDS $!"
redis-cli -p $TPORT -a pw-ep --no-auth-warning set fly-key v1 >/dev/null
# The first sync waits repl-diskless-sync-delay (5 s) before it starts; a loaded CI machine
# needs more than twice that, so the wait is bounded at 40 s.
ok_rep=1
for i in $(seq 1 400); do
  [ "$(redis-cli -p $SPORT -a pw-ep --no-auth-warning get fly-key 2>/dev/null)" = v1 ] && { ok_rep=0; break; }
  sleep 0.1
done
check "entrypoint target with REDBENCH_REPLICAOF: a replica that follows the primary" [ $ok_rep = 0 ]
[ $ok_rep = 0 ] || { sed 's/^/# replica: /' "$TMP/replica.out" | tail -30; sed 's/^/# primary: /' "$TMP/target.out" | tail -20; }
CPORT=$(( TPORT + 2 ))
REDBENCH_BIN="$RB" REDBENCH_DB="$TMP/ep.db" REDBENCH_LISTEN=127.0.0.1:$CPORT LITESTREAM_BUCKET= BUCKET_NAME= \
  sh "$FLYDIR/entrypoint.sh" collector > "$TMP/ep-collector.out" 2>&1 &
EPC=$!
PIDS="$PIDS $EPC"
for i in $(seq 1 600); do curl -fsS "http://127.0.0.1:$CPORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done # at most 60 s
check "entrypoint collector: /healthz answers" sh -c "curl -fsS http://127.0.0.1:$CPORT/healthz | grep -q '\"status\":\"ok\"'"
check "entrypoint collector: the warehouse is at REDBENCH_DB" [ -s "$TMP/ep.db" ]
check "entrypoint collector: pages need a token (REDBENCH_PUBLIC_READ unset)" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/")" = 401 ]
kill -TERM $EPC; wait $EPC; rc=$?
check "entrypoint collector: exits 0 on SIGTERM" [ $rc = 0 ]

# --- the Dockerfile ---
DF=$ROOT/Dockerfile
srcs=$(sed -n 's/^COPY \([^-][^ ]*\( [^ ]*\)*\) [^ ]*$/\1/p' "$DF" | tr ' ' '\n' | grep -v '^--' | sort -u)
missing=
for s in $srcs; do [ -e "$ROOT/$s" ] || missing="$missing $s"; done
check "Dockerfile: every COPY source exists${missing:+ (missing:$missing)}" [ -z "$missing" ]
# The build stage's context: exactly what it copies, built with the same make command.
mkdir -p "$TMP/ctx"
sed -n '/AS build/,/^FROM/p' "$DF" | sed -n 's/^COPY \(.*\) [^ ]*$/\1/p' | tr ' ' '\n' |
  while read -r s; do [ -n "$s" ] && cp -r "$ROOT/$s" "$TMP/ctx/"; done
check "Dockerfile: the build stage builds from only the files it copies" \
  sh -c "cd '$TMP/ctx' && make BUILD=build OPT=-O0 build/redbench >'$TMP/ctx.log' 2>&1 && ./build/redbench --version >/dev/null"
runtime=$(sed -n '/AS runtime/,/^FROM/p' "$DF")
libs_ok=1
# The libraries it names itself (apt brings their own dependencies).
needed=$(readelf -d "$RB" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in $(ldd "$RB" | awk -v n=" $(echo $needed) " 'index(n, " " $1 " ") && $3 ~ /^\// {print $3}'); do
  real=$(readlink -f "$lib")
  pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
  case $pkg in libc6|libgcc-s1|"") continue ;; esac
  # ASan builds link the sanitizer runtimes; the image is built without them.
  case $pkg in libasan*|libubsan*|liblsan*|libstdc++*) continue ;; esac
  echo "$runtime" | grep -qw -- "$pkg" || { echo "# runtime stage lacks $pkg ($lib)"; libs_ok=0; }
done
check "Dockerfile: the runtime stage installs the package of every library redbench links" [ $libs_ok = 1 ]
check "Dockerfile: the collector stage adds Litestream and its config" \
  sh -c "sed -n '/AS collector/,\$p' '$DF' | grep -q litestream.yml"

# --- docs/fly.md's cost table equals the warehouse's prices ---
"$RB" migrate --db "$TMP/prices.db" >/dev/null
rows=$(sed -n 's/^| \([a-z-]*\)\( (always on)\)\{0,1\} | \([^|]*\) | \([0-9.]*\) |$/\1;\3;\4/p' "$ROOT/docs/fly.md")
check "docs/fly.md: the cost table has the collector and the five modes" [ "$(echo "$rows" | grep -c .)" = 6 ]
while IFS=';' read -r mode machines usd; do
  total=0
  for term in $(echo "$machines" | sed 's/ × /x/g; s/ + / /g'); do
    preset=${term%%/*}; rest=${term#*/}; mem=${rest%%x*}; n=${rest#*x}
    ps=$(sql "$TMP/prices.db" "SELECT usd_per_second FROM machine_prices WHERE provider='fly' AND preset='$preset' AND memory_mb=$mem ORDER BY effective_date DESC LIMIT 1")
    total=$(awk -v t="$total" -v p="$ps" -v n="$n" 'BEGIN { printf "%.10f", t + p * n * 3600 }')
  done
  want=$(awk -v t="$total" 'BEGIN { printf "%.4f", t }')
  if [ "$want" = "$usd" ]; then ok "docs/fly.md: $mode costs USD $usd per hour"; else notok "docs/fly.md: $mode costs USD $want per hour, the table says $usd"; fi
done <<ROWS
$rows
ROWS

finish
