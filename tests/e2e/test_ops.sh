#!/bin/bash
# End to end: every operation of the table against a real redis-server, at
# pipeline 1 and 4 with two connections. Each cell finishes ok without a
# wrong reply; the calls the runner reports per command equal the server's
# INFO commandstats; the runner cleans every key up.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }

# jq_sql FILE EXPR: EXPR over the JSON document "d" of FILE (lib.sh's jedit).
jq_sql() { jedit "$1" "$2"; }
F="$TMP/all.json"

"$RB" run --list > "$TMP/list.out" 2> "$TMP/list.err"
check "run --list succeeds" [ $? = 0 ]
for g in strings hashes lists sets zsets streams keys mixed; do
  check "run --list shows group $g" grep -qw "$g" "$TMP/list.out"
done

redis-cli -p "$REDIS_PORT" config resetstat > /dev/null
"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios all --concurrency 2 --pipeline 1,4 \
  --requests 200 --iterations 1 --warmup 20 --dataset-size 50 --out "$F" --quiet \
  > "$TMP/all.out" 2> "$TMP/all.err"
rc=$?
# Server counts first: later redis-cli calls must not disturb them.
redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' > "$TMP/cmdstats.txt"
check "run of all operations exits 0 (rc=$rc)" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/# /' "$TMP/all.err" | head -20
check "run wrote its document" [ -s "$F" ]

NOPS=$(jq_sql "$F" "(select count(distinct json_extract(value, '\$.op')) from json_each(d, '\$.results'))")
NRES=$(jq_sql "$F" "(select count(*) from json_each(d, '\$.results'))")
echo "# $NOPS operations, $NRES results"
check "at least 45 distinct operations ran ($NOPS)" [ "${NOPS:-0}" -ge 45 ]
check "one result per operation and pipeline ($NRES = 2 x $NOPS)" [ "${NRES:-0}" = $(( 2 * ${NOPS:-0} )) ]
check "the six data types are covered" \
  [ "$(jq_sql "$F" "(select count(distinct json_extract(value, '\$.data_type')) from json_each(d, '\$.results') where json_extract(value, '\$.data_type') in ('string','hash','list','set','zset','stream'))")" = 6 ]

# Every cell ok, without a wrong reply, and measured its 200 requests.
BAD=$(jq_sql "$F" "(select group_concat(json_extract(value, '\$.op') || '/p' || json_extract(value, '\$.pipeline') || ':' || coalesce(json_extract(value, '\$.status'), 'ok') || ',errors=' || json_extract(value, '\$.errors') || coalesce(',' || json_extract(value, '\$.error'), ''), '; ') from json_each(d, '\$.results') where coalesce(json_extract(value, '\$.status'), 'ok') != 'ok' or json_extract(value, '\$.errors') != 0)")
[ -z "$BAD" ] || echo "# not ok cells: $BAD"
check "every result has status ok and 0 errors" [ -z "$BAD" ]
check "every result measured 200 requests" \
  [ "$(jq_sql "$F" "(select count(*) from json_each(d, '\$.results') where json_extract(value, '\$.requests') != 200)")" = 0 ]
check "the mixed operation ran" \
  [ "$(jq_sql "$F" "(select count(*) from json_each(d, '\$.results') where json_extract(value, '\$.op') = 'mixed')")" = 2 ]

# server_calls NAME: calls of NAME, summed over its subcommands (Redis 7
# reports a container command per subcommand: cmdstat_xgroup|create).
server_calls() {
  sed -n "s/^cmdstat_$1\(|[^:]*\)\{0,1\}:calls=\([0-9]*\),.*/\2/p" "$TMP/cmdstats.txt" |
    awk '{ s += $1 } END { print s + 0 }'
}
jq_sql "$F" "(select group_concat(key || ' ' || value, char(10)) from json_each(d, '\$.runner.commands'))" \
  > "$TMP/runner_cmds.txt"
NCMD=$(grep -c . "$TMP/runner_cmds.txt")
check "the runner reports its command counts ($NCMD names)" [ "$NCMD" -ge 45 ]
mismatch=""
while read -r name count; do
  [ -n "$name" ] || continue
  srv=$(server_calls "$name")
  # The test's own CONFIG RESETSTAT is the one config call the runner did not make.
  [ "$name" = config ] && srv=$((srv - 1))
  [ "$srv" = "$count" ] || mismatch="$mismatch $name(runner=$count,server=$srv)"
done < "$TMP/runner_cmds.txt"
[ -z "$mismatch" ] || echo "# mismatches:$mismatch"
check "every command count equals INFO commandstats" [ -z "$mismatch" ]
for c in get set xreadgroup xack xtrim lrange; do
  check "$c is counted by the runner and the server alike" \
    sh -c "grep -q '^$c ' '$TMP/runner_cmds.txt' && [ \"\$(grep '^$c ' '$TMP/runner_cmds.txt' | cut -d' ' -f2)\" -gt 0 ]"
done
check "the runner cleaned its keys up" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]

# Naming an operation or group that does not exist is a clear error.
"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios get,nosuchop --requests 10 --iterations 1 \
  --quiet > /dev/null 2> "$TMP/unknown.err"
rc=$?
check "unknown operation: non-zero exit (rc=$rc)" [ $rc != 0 ]
check "unknown operation: the message names it" \
  grep -q "unknown operation or group 'nosuchop' (see redbench run --list)" "$TMP/unknown.err"
finish
