#!/bin/sh
# run.sh -- redbench against redis-benchmark, side by side, on one private
# redis-server: same clients, pipeline, value size, keyspace and request count,
# the two tools alternating, BENCH_REPS repetitions; prints a Markdown table of
# medians and writes it with the machine and the exact commands to
# bench/RESULTS.md. Stops everything it started on exit.
# Usage: sh bench/run.sh path/to/redbench      (make bench does this)
# Environment: BENCH_REPS (repetitions, default 5), BENCH_RESULTS (output file,
# default bench/RESULTS.md beside this script), BENCH_TIMEOUT (seconds one tool
# invocation may take, default 120), BENCH_PIN=1 (pin the server to CPU 0 and
# both tools to the other CPUs, to see the tools without CPU contention),
# BENCH_COMMIT (the commit the binary was built from, for RESULTS.md; default:
# this checkout's HEAD, marked when the working tree has uncommitted changes).
set -u

[ $# -eq 1 ] || { echo "usage: sh bench/run.sh path/to/redbench" >&2; exit 2; }
[ -x "$1" ] || { echo "bench: $1 is not an executable (run make first)" >&2; exit 2; }
for tool in redis-server redis-cli redis-benchmark sqlite3 awk sort; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (make deps installs it)" >&2; exit 2; }
done
RB_SRC=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
REPS=${BENCH_REPS:-5}
OUT=${BENCH_RESULTS:-$HERE/RESULTS.md}
TMO=${BENCH_TIMEOUT:-120}
case $REPS in ''|*[!0-9]*) echo "bench: BENCH_REPS must be a whole number" >&2; exit 2;; esac
PIN=${BENCH_PIN:-0}
case $TMO in ''|*[!0-9]*) echo "bench: BENCH_TIMEOUT must be a whole number" >&2; exit 2;; esac
if [ "$REPS" -lt 1 ] || [ "$REPS" -gt 100 ]; then echo "bench: BENCH_REPS must be 1..100" >&2; exit 2; fi

VSIZE=64        # value bytes (-d / --value-size)
DATASET=10000   # distinct keys (-r / --dataset-size)
# The matrix: op, connections, pipeline, requests per run (sized for ~1-2 s a run).
CELLS="get 50 1 200000
set 50 1 200000
get 50 16 1000000
set 50 16 1000000
get 1 1 100000
set 1 1 100000"

NCPU=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
SRV_PIN="" CLI_PIN="" PINNING="none (server and tools share every CPU)"
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null || { echo "bench: BENCH_PIN=1 needs taskset (util-linux)" >&2; exit 2; }
  [ "$NCPU" -ge 2 ] || { echo "bench: BENCH_PIN=1 needs two CPUs or more" >&2; exit 2; }
  SRV_PIN="taskset -c 0" CLI_PIN="taskset -c 1-$((NCPU - 1))"
  PINNING="redis-server on CPU 0, each tool on CPUs 1-$((NCPU - 1)) (BENCH_PIN=1)"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redbench-bench.XXXXXX") || exit 2
REDIS_PID=""
# Run a copy: a rebuild of the original during the session must not mix versions.
RB=$WORK/redbench
cp "$RB_SRC" "$RB" || { rm -rf "$WORK"; echo "bench: cannot copy $RB_SRC" >&2; exit 2; }
RB_SUM=$(cksum < "$RB" | cut -d' ' -f1)
if [ -n "${BENCH_COMMIT:-}" ]; then
  COMMIT=$BENCH_COMMIT
else
  COMMIT=$(cd "$HERE/.." && git rev-parse --short HEAD 2>/dev/null || echo '?')
  [ -n "$(cd "$HERE/.." && git --no-optional-locks status --porcelain -uno 2>/dev/null)" ] &&
    COMMIT="$COMMIT + uncommitted changes"
fi
stop_all() {
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=""
  fi
  rm -rf "$WORK"
}
# A trap may run while a command's stderr is redirected to a file: fd 4 stays the
# real stderr.
exec 4>&2
trap 'stop_all' EXIT
trap 'echo "bench: interrupted; stopped redis-server" >&4; exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 2; }

# A tool invocation may not hang the script. GNU timeout's --foreground keeps
# the tool in our process group, so Ctrl-C reaches it at once.
if timeout --foreground 5 true 2>/dev/null; then bounded() { timeout --foreground "$TMO" "$@" </dev/null; }
elif command -v timeout >/dev/null; then bounded() { timeout "$TMO" "$@" </dev/null; }
else bounded() { "$@" </dev/null; }
fi

# ---- the server: a free loopback port, no persistence ----
tries=0
while :; do
  tries=$((tries + 1))
  [ $tries -gt 20 ] && die "could not start redis-server on a free port"
  PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 30000 ))
  $SRV_PIN redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis.log" --daemonize no &
  REDIS_PID=$!
  i=0
  while [ $i -lt 50 ] && ! redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
  done
  redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break
  kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=""
done
RCLI="redis-cli -h 127.0.0.1 -p $PORT"
REDIS_VER=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')
RB_BENCH_VER=$(redis-benchmark --version 2>/dev/null | head -n 1)
log "bench: redis-server $REDIS_VER on 127.0.0.1:$PORT; $REPS repetitions"

# Sets CPU to the children's user+sys CPU seconds so far (POSIX `times`, second
# line). `times` must run in this shell: in $(...) or a pipeline it would see a
# fresh subshell's zero.
child_cpu() {
  times > "$WORK/times"
  CPU=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]);
       t += a[1] * 60 + a[2] } printf "%.6f\n", t }' "$WORK/times")
}

# Same starting state for every run: an empty server. redis-benchmark does not
# load the keys it reads, so GET gets its keyspace (key:%012d, the names its -r
# makes) loaded here; redbench loads and deletes its own (rb:get:N).
reset_server() {
  $RCLI flushall >/dev/null || die "FLUSHALL failed"
  if [ "$1" = get ] && [ "$2" = redis-benchmark ]; then
    val=$(awk -v n="$VSIZE" 'BEGIN { s = ""; for (i = 0; i < n; i++) s = s "x"; print s }')
    $RCLI eval "for i = 0, tonumber(ARGV[1]) - 1 do
        redis.call('SET', string.format('key:%012d', i), ARGV[2]) end" 0 "$DATASET" "$val" \
      >/dev/null || die "loading the GET keyspace failed"
  fi
  $RCLI config resetstat >/dev/null
}

# Runs one tool on one cell and appends "cell tool ops p50_us p99_us cpu_us_per_req"
# to $WORK/samples.
run_one() { # tool op conc pipe reqs cellno
  tool=$1 op=$2 conc=$3 pipe=$4 reqs=$5 cellno=$6
  reset_server "$op" "$tool"
  child_cpu; cpu0=$CPU
  if [ "$tool" = redbench ]; then
    rm -f "$WORK/rb.json"
    # shellcheck disable=SC2086 # CLI_PIN is a command prefix, empty or several words
    bounded $CLI_PIN "$RB" run --target "127.0.0.1:$PORT" --scenarios "$op" --concurrency "$conc" \
      --pipeline "$pipe" --value-size "$VSIZE" --dataset-size "$DATASET" --requests "$reqs" \
      --iterations 1 --warmup 0 --quiet --out "$WORK/rb.json" >"$WORK/tool.out" 2>&1 \
      || { cat "$WORK/tool.out" >&2; die "redbench failed on $op c=$conc p=$pipe"; }
    child_cpu; cpu1=$CPU
    line=$(sqlite3 -separator ' ' :memory: "SELECT
        json_extract(j, '\$.results[0].ops_per_sec'), json_extract(j, '\$.results[0].latency_us.p50'),
        json_extract(j, '\$.results[0].latency_us.p99'), json_extract(j, '\$.results[0].errors')
        FROM (SELECT readfile('$WORK/rb.json') AS j)") || die "cannot read redbench's JSON"
    # shellcheck disable=SC2086 # split into fields on purpose
    set -- $line
    [ $# -eq 4 ] || die "redbench's JSON lacks results[0] figures: $line"
    [ "$4" = 0 ] || log "bench: warning: redbench counted $4 wrong replies on $op c=$conc p=$pipe"
    ops=$1 p50=$2 p99=$3
  else
    # shellcheck disable=SC2086 # CLI_PIN is a command prefix, empty or several words
    bounded $CLI_PIN redis-benchmark -h 127.0.0.1 -p "$PORT" -t "$op" -c "$conc" -P "$pipe" -d "$VSIZE" \
      -r "$DATASET" -n "$reqs" --csv >"$WORK/tool.out" 2>&1 \
      || { cat "$WORK/tool.out" >&2; die "redis-benchmark failed on $op c=$conc p=$pipe"; }
    child_cpu; cpu1=$CPU
    # "GET","119904.08","0.267","0.056","0.271","0.391","0.447","2.831" (ms)
    line=$(tr -d '"\r' < "$WORK/tool.out" | awk -F, -v t="$(echo "$op" | tr '[:lower:]' '[:upper:]')" \
      '$1 == t && NF >= 8 { printf "%s %.3f %.3f\n", $2, $5 * 1000, $7 * 1000 }')
    [ -n "$line" ] || { cat "$WORK/tool.out" >&2; die "no CSV line from redis-benchmark"; }
    # shellcheck disable=SC2086 # split into fields on purpose
    set -- $line
    ops=$1 p50=$2 p99=$3
    if [ "$op" = get ]; then
      miss=$($RCLI info stats | tr -d '\r' | sed -n 's/^keyspace_misses://p')
      [ "${miss:-0}" = 0 ] || log "bench: warning: redis-benchmark GET missed $miss keys"
    fi
  fi
  cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$reqs" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')
  echo "$cellno $tool $ops $p50 $p99 $cpu" >> "$WORK/samples"
  awk -v r="$rep" -v o="$op" -v c="$conc" -v p="$pipe" -v t="$tool" -v x="$ops" -v a="$p50" -v b="$p99" \
    -v u="$cpu" 'BEGIN { printf "  rep %d  %s c=%d p=%d  %-15s %9.0f ops/s  p50 %7.1f µs  p99 %7.1f µs  CPU %5.2f µs/req\n",
    r, o, c, p, t, x, a, b, u }' >&2
}

# ---- the runs: repetitions outermost, so each cell's samples spread over the
# whole session; the tool that goes first alternates from one repetition to the next ----
: > "$WORK/samples"
START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
T0=$(date +%s)
rep=1
while [ $rep -le "$REPS" ]; do
  cell=0
  echo "$CELLS" > "$WORK/cells"
  while read -r op conc pipe reqs <&3; do
    cell=$((cell + 1))
    if [ $(( (rep + cell) % 2 )) -eq 0 ]; then first=redbench second=redis-benchmark
    else first=redis-benchmark second=redbench
    fi
    run_one "$first" "$op" "$conc" "$pipe" "$reqs" "$cell"
    run_one "$second" "$op" "$conc" "$pipe" "$reqs" "$cell"
  done 3< "$WORK/cells"
  rep=$((rep + 1))
done
ELAPSED=$(( $(date +%s) - T0 ))
LOAD1=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# ---- the table ----
# median of column $col for rows matching cell and tool
median() { # cell tool col
  awk -v c="$1" -v t="$2" -v k="$3" '$1 == c && $2 == t { print $k }' "$WORK/samples" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
         else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# min and max over repetitions of redbench ops / redis-benchmark ops of the same repetition
ratio_range() { # cell
  awk -v c="$1" '$1 == c && $2 == "redbench" { a[++na] = $3 } $1 == c && $2 == "redis-benchmark" { b[++nb] = $3 }
    END { lo = 1e9; hi = 0; for (i = 1; i <= na && i <= nb; i++) { r = a[i] / b[i]; if (r < lo) lo = r;
          if (r > hi) hi = r } printf "%.2f–%.2f", lo, hi }' "$WORK/samples"
}
TABLE="$WORK/table.md"
{
  echo "| op | conns | pipeline | requests | redbench ops/s | redis-benchmark ops/s | ratio | ratio range | redbench p50 µs | redis-benchmark p50 µs | redbench p99 µs | redis-benchmark p99 µs | redbench CPU µs/req | redis-benchmark CPU µs/req |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  cell=0
  while read -r op conc pipe reqs; do
    cell=$((cell + 1))
    a=$(median $cell redbench 3) b=$(median $cell redis-benchmark 3)
    awk -v op="$op" -v c="$conc" -v p="$pipe" -v n="$reqs" -v a="$a" -v b="$b" \
      -v rr="$(ratio_range $cell)" \
      -v a50="$(median $cell redbench 4)" -v b50="$(median $cell redis-benchmark 4)" \
      -v a99="$(median $cell redbench 5)" -v b99="$(median $cell redis-benchmark 5)" \
      -v acpu="$(median $cell redbench 6)" -v bcpu="$(median $cell redis-benchmark 6)" \
      'BEGIN { printf "| %s | %d | %d | %d | %.0f | %.0f | %.2f | %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |\n",
               op, c, p, n, a, b, (b > 0 ? a / b : 0), rr, a50, b50, a99, b99, acpu, bcpu }'
  done < "$WORK/cells"
} > "$TABLE"

echo
cat "$TABLE"

# ---- RESULTS.md (written aside, then renamed) ----
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(uname -m)
{
  echo "# redbench vs redis-benchmark"
  echo
  echo "Generated by \`make bench\` (\`sh bench/run.sh build/redbench\`). Each cell ran each tool"
  echo "$REPS times against the same private redis-server, alternating which tool went first;"
  echo "figures are medians over the repetitions."
  echo
  echo "## Machine"
  echo
  echo "- date: $START (the runs took ${ELAPSED} s)"
  echo "- nproc: $NCPU; CPU: $CPU_MODEL"
  echo "- kernel: $(uname -sr); load average before: $LOAD0, after: $LOAD1 (other work shares this machine)"
  echo "- redis-server $REDIS_VER ($RB_BENCH_VER), on 127.0.0.1, \`--save '' --appendonly no\`"
  echo "- $("$RB" --version 2>/dev/null) (binary cksum $RB_SUM) at commit $COMMIT"
  echo "- CPU pinning: $PINNING"
  echo
  echo "## Results"
  echo
  echo "Value size $VSIZE bytes, keyspace $DATASET keys (random key per request), one run of"
  echo "\`requests\` requests per tool per repetition, no warm-up for either tool."
  echo
  cat "$TABLE"
  echo
  echo "- **ratio** = median redbench ops/s / median redis-benchmark ops/s; **ratio range** is the"
  echo "  lowest and highest ratio of one repetition's pair of runs."
  echo "- **CPU µs/req** is the client process's user+sys CPU time divided by the requests"
  echo "  (POSIX \`times\`). For redbench GET it includes loading and deleting its $DATASET keys"
  echo "  (pipelined, 500 a batch), for both it includes start-up."
  echo "- **Latency is defined differently by the two tools.** redis-benchmark times a request"
  echo "  from its event loop's write to the read of the reply, and gives every reply of a pipelined"
  echo "  batch the batch's round trip. redbench times each request from the send of its batch to"
  echo "  the arrival of its own reply, so earlier replies in a batch get shorter times. In a closed"
  echo "  loop, connections = throughput x (latency + time between a reply and the next send)."
  echo "  Both tools are single-threaded event loops here (redbench \`--threads 1\`, the default);"
  echo "  redbench sends a connection's next batch as soon as the last reply of the previous one"
  echo "  is read, and redis-benchmark after its event loop comes round to the write. Compare"
  echo "  latencies within a tool, across runs, not across tools."
  echo "- At 1 connection each request wakes the other process; whether the scheduler puts client"
  echo "  and server on one CPU or two can change the figures several-fold (a wake-up across vCPUs"
  echo "  is costly on VMs). A wide ratio range is the sign; BENCH_PIN=1 makes the placement fixed."
  echo "- The tools share the CPUs with the server. \`BENCH_PIN=1 sh bench/run.sh build/redbench\`"
  echo "  puts the server on CPU 0 and the tools on the others, which separates a tool's own speed"
  echo "  from the CPU it takes away from the server."
  echo
  echo "## Commands"
  echo
  echo "Before every run: \`redis-cli FLUSHALL\`; before redis-benchmark GET, the keyspace"
  echo "\`key:000000000000\`..\`key:$(printf '%012d' $((DATASET - 1)))\` is loaded with $VSIZE-byte values"
  echo "by one EVAL (redbench loads its own \`rb:get:N\` keys and deletes them after)."
  echo
  echo '```sh'
  while read -r op conc pipe reqs; do
    echo "${CLI_PIN:+$CLI_PIN }redbench run --target 127.0.0.1:$PORT --scenarios $op --concurrency $conc --pipeline $pipe --value-size $VSIZE --dataset-size $DATASET --requests $reqs --iterations 1 --warmup 0 --quiet --out run.json"
    echo "${CLI_PIN:+$CLI_PIN }redis-benchmark -h 127.0.0.1 -p $PORT -t $op -c $conc -P $pipe -d $VSIZE -r $DATASET -n $reqs --csv"
  done < "$WORK/cells"
  echo '```'
} > "$OUT.tmp.$$" || die "cannot write $OUT.tmp.$$"
mv "$OUT.tmp.$$" "$OUT" || die "cannot write $OUT"
log "bench: wrote $OUT (${ELAPSED} s)"
