#!/bin/bash
# Hostile run uploads: malformed, truncated, deeply nested, huge-number,
# wrong-type, empty, non-JSON and invalid UTF-8 bodies, and a 15 MB results
# array. Each is answered with a 4xx and an error message, nothing is written,
# and the collector keeps serving.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 1 --requests 100 \
  --iterations 2 --warmup 0 --dataset-size 10 --quiet --out "$TMP/base.json" > /dev/null 2>&1
r=$(post "$TMP/base.json")
check "a valid run is accepted" [ "${r%% *}" = 201 ]
counts() { sql "$DB" "select (select count(*) from runs)||'/'||(select count(*) from results)||'/'||(select count(*) from samples)"; }
before=$(counts)

# reject NAME FILE [CURL_ARGS...]: POSTs FILE; ok if the answer is a 4xx whose
# JSON body carries an "error" message.
reject() {
  name=$1 file=$2; shift 2
  rm -f "$TMP/resp"
  code=$(curl -s -m 20 -o "$TMP/resp" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
    -H 'Content-Type: application/json' "$@" --data-binary @"$file" "$URL/api/v1/runs")
  msg=$(jget "$TMP/resp" '$.error' 2>/dev/null)
  case $code in
    4??) if [ -n "$msg" ]; then ok "$name: $code ($(echo "$msg" | cut -c1-70))"; return; fi ;;
  esac
  [ "$code" = 000 ] || [ "$code" = 100 ] && code="no answer within 20 s"
  notok "$name: want a 4xx with a message, got $code $(head -c 120 "$TMP/resp" 2>/dev/null)"
}
# body NAME TEXT: rejects TEXT as the body.
N=0
body() { N=$((N+1)); printf '%s' "$2" > "$TMP/b$N"; reject "$1" "$TMP/b$N"; }
# field NAME PATH RAW: rejects the valid run (under a new id) with the JSON
# text RAW at PATH.
field() {
  N=$((N+1))
  d=$(jedit "$TMP/base.json" "json_set(d, '\$.run_id', 'bad-$N', '$2', '@@RAW@@')")
  printf '%s' "${d/\"@@RAW@@\"/"$3"}" > "$TMP/b$N"
  reject "$1" "$TMP/b$N"
}
VALID=$(jedit "$TMP/base.json" "json_set(d, '\$.run_id', 'bad-cut')")   # compact, no newline
nest() { printf "%.0s$1" $(seq "$3"); printf "%.0s$2" $(seq "$3"); }

# Malformed JSON.
body "malformed: unterminated object" '{"schema_version": 1, "run_id": '
body "malformed: trailing comma" '{"schema_version": 1,}'
body "malformed: single quotes" "{'schema_version': 1}"
body "malformed: missing colon" '{"schema_version" 1}'
body "malformed: unclosed array" '[1, 2'
body "malformed: bare word" 'true false'
body "malformed: a valid run followed by garbage" "$VALID xyz"
body "malformed: two runs back to back" "$VALID$(jedit "$TMP/base.json" "json_set(d, '\$.run_id', 'bad-second')")"
field "malformed: raw control character in a string" '$.branch' $'"ma\x01in"'

# Truncated: a valid run cut at several offsets.
len=${#VALID}
for cut in 1 2 17 100 $((len / 4)) $((len / 2)) $((len * 3 / 4)) $((len - 2)) $((len - 1)); do
  body "truncated at byte $cut of $len" "${VALID:0:cut}"
done

# Deeply nested (cJSON stops at 1000 levels).
body "nested: 2000 arrays" "$(nest '[' ']' 2000)"
body "nested: 2000 objects" "$(nest '{"a":' '}' 2000 | sed 's/:}/:1}/')"
body "nested: 100000 arrays" "$(nest '[' ']' 100000)"
field "nested: 2000 arrays in target.config" '$.target.config' "$(nest '[' ']' 2000)"
field "nested: 900 arrays in target.config" '$.target.config' "$(nest '[' ']' 900)"

# Huge and out-of-range numbers.
field "huge: schema_version 1e400" '$.schema_version' '1e400'
field "huge: requests 2^64" '$.results[0].requests' '18446744073709551616'
field "huge: value_size 1e400" '$.results[0].value_size' '1e400'
field "huge: dataset_size -1e400" '$.results[0].dataset_size' '-1e400'
field "huge: sample ops_per_sec 1e400" '$.results[0].samples[0].ops_per_sec' '1e400'
field "huge: command count 1e400" '$.runner.commands.get' '1e400'
field "huge: command count 2^64" '$.runner.commands.get' '18446744073709551616'
field "huge: server metric 1e400" '$.results[0].server.used_memory' '1e400'
field "huge: metric 1e400" '$.results[0].metrics' '{"lost": 1e400}'
field "negative: requests -1" '$.results[0].requests' '-1'
field "negative: errors -5" '$.results[0].errors' '-5'
field "negative: sample requests -1" '$.results[0].samples[0].requests' '-1'
field "negative: command count -1" '$.runner.commands.get' '-1'
field "out of range: concurrency 0" '$.results[0].concurrency' '0'
field "out of range: concurrency 1.5" '$.results[0].concurrency' '1.5'

# Wrong types.
body "wrong type: the body is an array" "[$VALID]"
body "wrong type: the body is a string" '"run"'
body "wrong type: the body is null" 'null'
field "wrong type: schema_version a string" '$.schema_version' '"1"'
field "wrong type: run_id a number" '$.run_id' '123'
field "wrong type: branch a boolean" '$.branch' 'true'
field "wrong type: status a number" '$.status' '7'
field "wrong type: started_at not a time" '$.started_at' '"yesterday"'
field "wrong type: mode unknown" '$.mode' '"bogus"'
field "wrong type: target a string" '$.target' '"redis"'
field "wrong type: target.config values numbers" '$.target.config' '{"maxmemory": 0}'
field "wrong type: runner an array" '$.runner' '[]'
field "wrong type: command count a string" '$.runner.commands' '{"get": "many"}'
field "wrong type: results an object" '$.results' '{}'
field "wrong type: results empty" '$.results' '[]'
field "wrong type: a result a string" '$.results[0]' '"fast"'
field "wrong type: concurrency a string" '$.results[0].concurrency' '"four"'
field "wrong type: samples an object" '$.results[0].samples' '{}'
field "wrong type: a sample a number" '$.results[0].samples[0]' '5'
field "wrong type: latency_hist a number" '$.results[0].latency_hist' '5'
field "wrong type: latency_hist not base64" '$.results[0].latency_hist' '"h1:!!!!"'
field "wrong type: params values numbers" '$.results[0].params' '{"rate": 1}'
field "wrong type: metrics values strings" '$.results[0].metrics' '{"lost": "none"}'
field "wrong type: server metric a string" '$.results[0].server' '{"cpu_user_s": "a"}'

# Empty and non-JSON bodies.
body "empty body" ''
body "non-JSON: text" 'hello world'
body "non-JSON: a form" 'schema_version=1&run_id=x'
body "non-JSON: XML" '<run><id>x</id></run>'
head -c 4096 /dev/urandom > "$TMP/random.bin"
reject "non-JSON: 4 KB of random bytes" "$TMP/random.bin"

# Invalid UTF-8.
field "invalid UTF-8: bytes ff fe in branch" '$.branch' $'"\xff\xfe"'
field "invalid UTF-8: overlong encoding in commit" '$.commit' $'"\xc0\xaf"'
field "invalid UTF-8: a lone surrogate escape" '$.branch' '"\ud800"'
field "invalid string: an escaped NUL in branch" '$.branch' '"ma\u0000in"'
field "invalid UTF-8: in run_id" '$.run_id' $'"r\xc3"'
body "invalid UTF-8: outside a string" $'\xff'"$VALID"

check "collector still answers /healthz" curl -sf -m 5 -o /dev/null "$URL/healthz"

# 15 MB results arrays, under the 16 MiB cap: 70000 distinct results, the
# last one wrong, then all valid (refused for their number, or at least
# answered in time).
mk_big() {
  sqlite3 :memory: "select json_object('schema_version', 1, 'run_id', '$1', 'branch', 'main',
    'mode', 'single', 'started_at', '2026-01-01T00:00:00Z', 'ended_at', '2026-01-01T00:00:01Z',
    'target', json_object(), 'results', json_insert((select json_group_array(json_object(
      'scenario', 's', 'op', 'o', 'concurrency', value, 'pipeline', 1, 'value_size', 0,
      'dataset_size', 1, 'requests', 1, 'errors', 0, 'samples', json_array(json_object(
      'ops_per_sec', 1, 'requests', 1, 'seconds', 1, 'p50_us', 1, 'p99_us', 1)),
      'latency_hist', 'h1:AAA=')) from generate_series(1, 70000)), '\$[#]', json('$2')))" \
    | tr -d '\n' > "$TMP/$1.json"
}
mk_big big-bad '"oops"'
echo "# 15 MB body: $(wc -c < "$TMP/big-bad.json") bytes"
t0=$(date +%s)
reject "15 MB results array with a bad last result" "$TMP/big-bad.json"
echo "# ... answered in $(( $(date +%s) - t0 )) s"
check "collector still answers /healthz after the 15 MB body" curl -sf -m 5 -o /dev/null "$URL/healthz"
after=$(counts)
check "nothing written by bad bodies ($before -> $after)" [ "$before" = "$after" ]

mk_big big-all '{"scenario":"s","op":"o","concurrency":70001,"pipeline":1,"value_size":0,"dataset_size":1,"requests":1,"errors":0,"samples":[{"ops_per_sec":1,"requests":1,"seconds":1,"p50_us":1,"p99_us":1}],"latency_hist":"h1:AAA="}'
t0=$(date +%s)
reject "15 MB of 70001 valid results: refused within 20 s" "$TMP/big-all.json"
echo "# ... answered in $(( $(date +%s) - t0 )) s"
check "collector still answers /healthz at the end" curl -sf -m 5 -o /dev/null "$URL/healthz"
check "still nothing written ($before -> $(counts))" [ "$before" = "$(counts)" ]
finish
