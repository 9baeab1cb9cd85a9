#!/bin/bash
# Crash safety of ingest: 16 clients upload runs while the collector is killed
# with SIGKILL, three times over one warehouse file. After each restart every
# run that got a 2xx is stored whole, no run is half-written, and the file
# passes PRAGMA integrity_check; re-uploading everything at the end answers
# only 200 or 201, and every stored run ends up analysed.
. "$(dirname "$0")/lib.sh"

CLIENTS=16   # concurrent uploaders
PER=60       # runs per uploader and round: enough that a kill 0.3-0.9 s after the first ack lands mid-stream
ROUNDS=3

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
mkdir -p "$TMP/runs" "$TMP/acks"

# One real run (8 results of 5 samples) is the template of every upload.
"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 1,4 --pipeline 1,8 \
  --requests 200 --iterations 5 --warmup 0 --dataset-size 100 --quiet --out "$TMP/base.json" \
  > /dev/null 2> "$TMP/base.err"
check "a template run is written" [ "$(jget "$TMP/base.json" '$.results[7].samples[4].requests')" = 200 ]

# make_runs ROUND: writes CLIENTS x PER copies of the template as
# $TMP/runs/ID.json, ID = crash-rROUND-cC-kK. Copy n keeps n%8+1 results and
# n%5+1 samples of each, so that a run cut short would not match its file.
# (One sqlite3 process writes them all: jedit would need one per file.)
make_runs() {
  sqlite3 :memory: "
    with t(d) as (select readfile('$TMP/base.json')),
         n(i, id) as (select value, 'crash-r$1-c' || (value / $PER) || '-k' || (value % $PER)
                      from generate_series(0, $((CLIENTS * PER - 1))))
    select count(writefile('$TMP/runs/' || n.id || '.json',
      json_set(d, '\$.run_id', n.id, '\$.results',
        (select json_group_array(json_set(e.value, '\$.samples',
                  (select json_group_array(json(s.value)) from json_each(e.value, '\$.samples') s
                   where s.key <= n.i % 5)))
         from json_each(d, '\$.results') e where e.key <= n.i % 8))))
    from t, n" > /dev/null
}

# uploader ROUND C: uploads its runs in order, one "ID HTTP_CODE" line each
# to $TMP/acks/rROUND-cC; stops at the first transport failure (code 000).
uploader() {
  for k in $(seq 0 $((PER - 1))); do
    id=crash-r$1-c$2-k$k
    code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
      -H 'Content-Type: application/json' --data-binary @"$TMP/runs/$id.json" "$URL/api/v1/runs")
    echo "$id $code"
    [ "$code" = 000 ] && break
  done > "$TMP/acks/r$1-c$2"
}

# wait_all SECONDS PID...: waits for the uploaders, at most SECONDS, then kills the rest.
wait_all() {
  secs=$1; shift
  for i in $(seq 1 $((secs * 10))); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "$@"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}

# Mismatches between the warehouse and the run files, in one query each:
# runs (of the id list in table want) missing or stored with other result or
# sample counts than their file has.
MISMATCH="(select count(*) from runs r where r.id = w.id) != 1
  or (select count(*) from results x where x.run_id = w.id)
     != json_array_length(readfile('$TMP/runs/' || w.id || '.json'), '\$.results')
  or (select count(*) from samples s join results x on s.result_id = x.id where x.run_id = w.id)
     != (select sum(json_array_length(e.value, '\$.samples'))
         from json_each(readfile('$TMP/runs/' || w.id || '.json'), '\$.results') e)"

start_collector "$DB" || { notok "collector starts"; finish; }
t_start=$(date +%s)
for round in $(seq 1 $ROUNDS); do
  make_runs $round
  rm -f "$TMP"/acks/r$round-*
  UP=""
  for c in $(seq 0 $((CLIENTS - 1))); do uploader $round $c & UP="$UP $!"; done
  # The kill lands 0.3-0.9 s after the first acknowledged upload (a loaded
  # machine may take seconds to answer the first; bounded: 60 s).
  for i in $(seq 1 600); do cat "$TMP"/acks/r$round-* 2>/dev/null | grep -q ' 20[01]$' && break; sleep 0.1; done
  sleep "0.$(( RANDOM % 7 + 3 ))"
  acked_at_kill=$(cat "$TMP"/acks/r$round-* 2>/dev/null | grep -c ' 20[01]$')
  kill -9 "$SERVE_PID"
  wait "$SERVE_PID" 2>/dev/null
  PIDS=$(echo "$PIDS" | sed "s/\b$SERVE_PID\b//")
  wait_all 30 $UP
  cat "$TMP"/acks/r$round-* > "$TMP/acks.r$round"
  acked=$(grep -c ' 20[01]$' "$TMP/acks.r$round")
  cut=$(grep -c ' 000$' "$TMP/acks.r$round")
  echo "# round $round: killed after $acked_at_kill acks; $acked runs acknowledged, $cut uploads cut off"
  check "round $round: the kill landed mid-stream" [ "$cut" -gt 0 -a "$acked" -gt 0 ]
  check "round $round: no answer but 201 or a cut connection" \
    [ "$(grep -vc -e ' 201$' -e ' 000$' "$TMP/acks.r$round")" = 0 ]

  start_collector "$DB" || { notok "round $round: collector restarts on the same file"; finish; }
  ok "round $round: collector restarts on the same file"
  check "round $round: healthz answers after the restart" curl -sf -m 5 -o /dev/null "$URL/healthz"

  # Every acknowledged run, of every round so far, is there and whole.
  ids=$(cat "$TMP"/acks.r* | sed -n "s/^\(crash-[^ ]*\) 20[01]$/('\1')/p" | paste -sd, -)
  bad=$(sql "$DB" "create temp table want(id text primary key); insert into want values $ids;
                   select count(*) from want w where $MISMATCH")
  check "round $round: every acknowledged run is stored whole ($bad of $(echo "$ids" | tr ',' '\n' | wc -l) not)" [ "$bad" = 0 ]
  # No run, acknowledged or not, is half-written.
  bad=$(sql "$DB" "select count(*) from (select id from runs) w where $MISMATCH")
  check "round $round: no stored run is half-written ($bad are)" [ "$bad" = 0 ]
  bad=$(sql "$DB" "select count(*) from runs r where (select count(*) from results x where x.run_id = r.id)
                     != json_array_length(r.document, '\$.results')")
  check "round $round: results match each stored document ($bad do not)" [ "$bad" = 0 ]
  check "round $round: no orphan rows (foreign_key_check empty)" [ -z "$(sql "$DB" 'pragma foreign_key_check')" ]
  check "round $round: PRAGMA integrity_check is ok" [ "$(sql "$DB" 'pragma integrity_check')" = ok ]
  echo "# round $round: $(sql "$DB" 'select count(*) from runs') runs stored"
done

# Every run tried again, 16 at a time: stored runs (acknowledged or cut off
# after their commit) answer 200, the runs cut off before it 201.
cat "$TMP"/acks.r* | cut -d' ' -f1 > "$TMP/all.ids"
total=$(wc -l < "$TMP/all.ids")
split -n l/$CLIENTS "$TMP/all.ids" "$TMP/part."
UP=""
for part in "$TMP"/part.*; do
  ( while read -r id; do
      code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" \
        -H 'Content-Type: application/json' --data-binary @"$TMP/runs/$id.json" "$URL/api/v1/runs")
      echo "$id $code"
    done < "$part" > "$part.codes" ) &
  UP="$UP $!"
done
wait_all 300 $UP
cat "$TMP"/part.*.codes > "$TMP/reupload"
echo "# re-upload: $(cut -d' ' -f2 "$TMP/reupload" | sort | uniq -c | tr -s ' \n' ' ')"
check "re-upload: every run answered ($(wc -l < "$TMP/reupload") of $total)" [ "$(wc -l < "$TMP/reupload")" = "$total" ]
check "re-upload: only 200 and 201 (no 409, no 5xx)" [ "$(grep -vc -e ' 200$' -e ' 201$' "$TMP/reupload")" = 0 ]
check "re-upload: runs acknowledged before answer 200" \
  [ "$(cat "$TMP"/acks.r* | grep ' 201$' | cut -d' ' -f1 | grep -cvxF -f <(grep ' 200$' "$TMP/reupload" | cut -d' ' -f1))" = 0 ]
check "warehouse holds all $total runs" [ "$(sql "$DB" 'select count(*) from runs')" = "$total" ]
bad=$(sql "$DB" "select count(*) from (select id from runs) w where $MISMATCH")
check "no stored run is half-written after the re-upload ($bad are)" [ "$bad" = 0 ]
check "PRAGMA integrity_check is ok at the end" [ "$(sql "$DB" 'pragma integrity_check')" = ok ]
# Analysis follows the commit: runs left pending by the kills are queued again
# at each restart; in the end every run is analysed (bounded wait, 300 s).
for i in $(seq 1 3000); do
  [ "$(sql "$DB" 'select count(*) from runs where analyzed_at is null')" = 0 ] && break
  sleep 0.1
done
check "every run is analysed in the end ($(sql "$DB" 'select count(*) from runs where analyzed_at is null') pending)" \
  [ "$(sql "$DB" "select count(*) from runs where analyzed_at is null or verdict_status = 'pending'")" = 0 ]
bad=$(sql "$DB" "select count(*) from runs u where n_results != (select count(*) from results x where x.run_id = u.id)")
check "n_results matches the stored results ($bad do not)" [ "$bad" = 0 ]
echo "# crash rounds and re-upload took $(( $(date +%s) - t_start )) s"
check "collector stops cleanly on SIGTERM" stop_collector
finish
