#!/bin/bash
# Analysis after the ingest commit: POST /api/v1/runs answers "pending" and the
# verdicts follow; ?wait=analysis answers with them; runs committed but not
# analysed when the collector is killed (-9) are analysed after the restart;
# the runs list and GET /metrics show the summary and the queue.
# REDBENCH_ANALYSIS_PAUSE=1 (a test knob) keeps the analysis thread idle, so
# the backlog exists for sure when the collector is killed.
. "$(dirname "$0")/lib.sh"

FX="$RB_ROOT/tests/fixtures/compare"
DB="$TMP/wh.db"
AUTH="Authorization: Bearer $REDBENCH_TOKEN"

# poll_sql NAME QUERY WANT: bounded (120 s: a loaded machine) wait until QUERY gives WANT.
poll_sql() {
  for i in $(seq 1 1200); do
    [ "$(sql "$DB" "$2")" = "$3" ] && { ok "$1"; return 0; }
    sleep 0.1
  done
  notok "$1 (got '$(sql "$DB" "$2")', want '$3')"
}
# upload FILE QUERY: POSTs FILE to /api/v1/runs?QUERY; prints "STATUS BODY".
upload() {
  curl -s -m 60 -o "$TMP/up.body" -w '%{http_code}' -H "$AUTH" --data-binary @"$1" "$URL/api/v1/runs$2"
  printf ' '; cat "$TMP/up.body"
}
metric() { curl -s -m 10 "$URL/metrics" | sed -n "s/^$1 //p"; }

# 1. The analysis thread paused: three runs are acknowledged, pending.
REDBENCH_ANALYSIS_PAUSE=1 start_collector "$DB" || { notok "collector starts"; finish; }
for r in old1 old2 old3; do
  out=$(upload "$FX/$r.json" "")
  case $out in
    '201 {"run_id":"'$r'","status":"created","results":3,"analysis":"pending","url":"/runs/'$r'"}') ok "POST $r: 201 pending" ;;
    *) notok "POST $r: 201 pending (got: $out)" ;;
  esac
done
check "pending runs have no verdicts" [ "$(sql "$DB" "select count(*) from verdicts")" = 0 ]
check "pending in the warehouse" \
  [ "$(sql "$DB" "select group_concat(verdict_status || ':' || ifnull(analyzed_at, 'null') || ':' || n_results, ' ') from runs order by rowid")" = "pending:null:3 pending:null:3 pending:null:3" ]
curl -s -m 10 "$URL/api/v1/runs" > "$TMP/list.json"
check "the runs list says pending" \
  [ "$(jget "$TMP/list.json" '$.runs[0].status')/$(jget "$TMP/list.json" '$.runs[0].verdict_status')/$(jget "$TMP/list.json" '$.runs[0].results')" = "pending/pending/3" ]
check "metrics: queue of 3" [ "$(metric redbench_analysis_queue_runs)" = 3 ]
lag=$(metric redbench_analysis_lag_seconds)
check "metrics: a lag is shown ($lag s)" [ -n "$lag" ]
curl -s -m 10 "$URL/api/v1/runs/old2" > "$TMP/get.json"
check "GET run: the stored document and a pending summary" \
  [ "$(jget "$TMP/get.json" '$.run.run_id')/$(jget "$TMP/get.json" '$.verdict.status')" = "old2/pending" ]

# 2. kill -9 with the backlog; after the restart every run is analysed.
kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/\b$SERVE_PID\b//")
check "still pending after kill -9" [ "$(sql "$DB" "select count(*) from runs where analyzed_at is null")" = 3 ]
start_collector "$DB" || { notok "collector restarts"; finish; }
poll_sql "the backlog is analysed after the restart" "select count(*) from runs where analyzed_at is not null" 3
check "old1 has no baseline" [ "$(sql "$DB" "select verdict_status from runs where id='old1'")" = insufficient_baseline ]
check "old3 is judged against old1 and old2" \
  [ "$(sql "$DB" "select count(*) from verdicts where run_id='old3' and baseline_runs=2")" -gt 0 ]
check "summary counts equal the verdict rows" [ "$(sql "$DB" "select count(*) from runs u where
  n_regressions != (select count(*) from verdicts v where v.run_id=u.id and v.status='regression') or
  n_improvements != (select count(*) from verdicts v where v.run_id=u.id and v.status='improvement') or
  n_insufficient != (select count(*) from verdicts v where v.run_id=u.id and v.status='insufficient_baseline')")" = 0 ]
check "metrics: queue empty" [ "$(metric redbench_analysis_queue_runs)" = 0 ]

# 3. ?wait=analysis answers with the verdict, stored before the answer.
out=$(upload "$FX/new_slower.json" "?wait=analysis")
check "wait=analysis: 201, analysis done" [ "${out%% *}/$(jget "$TMP/up.body" '$.analysis')" = 201/done ]
check "wait=analysis: the verdict is a regression" [ "$(jget "$TMP/up.body" '$.verdict.status')" = regression ]
reg=$(jget "$TMP/up.body" '$.verdict.regression')
check "wait=analysis: verdicts stored before the answer ($reg regressions)" \
  [ "${reg:-0}" -gt 0 -a "$(sql "$DB" "select n_regressions || verdict_status from runs where id='new-slower'")" = "${reg}regression" ]
curl -s -m 10 "$URL/api/v1/runs?limit=1" > "$TMP/list.json"
check "the runs list shows the summary" \
  [ "$(jget "$TMP/list.json" '$.runs[0].id')/$(jget "$TMP/list.json" '$.runs[0].status')/$(jget "$TMP/list.json" '$.runs[0].regressions')" = "new-slower/regression/$reg" ]
check "the runs list has analyzed_at" [ -n "$(jget "$TMP/list.json" '$.runs[0].analyzed_at')" ]

# 4. Without wait: "pending" at once, the verdicts appear shortly.
jedit "$FX/new_same.json" "json_set(d, '\$.run_id', 'async-1', '\$.started_at', '2026-02-01T00:00:00Z', '\$.ended_at', '2026-02-01T00:01:00Z')" > "$TMP/a1.json"
out=$(upload "$TMP/a1.json" "")
check "no wait: 201, pending, no verdict in the answer" \
  [ "${out%% *}/$(jget "$TMP/up.body" '$.analysis')/$(jget "$TMP/up.body" '$.verdict')" = 201/pending/ ]
poll_sql "no wait: the verdicts appear" "select analyzed_at is not null and (select count(*) from verdicts where run_id='async-1') > 0 from runs where id='async-1'" 1

# 5. Already present: 200 with the current summary; a bad wait value: 400.
out=$(upload "$FX/new_slower.json" "")
check "already present: 200 with the stored summary" \
  [ "${out%% *}/$(jget "$TMP/up.body" '$.status')/$(jget "$TMP/up.body" '$.analysis')/$(jget "$TMP/up.body" '$.verdict.status')" = "200/already_present/done/regression" ]
out=$(upload "$FX/new_faster.json" "?wait=later")
check "wait=later: 400" [ "${out%% *}" = 400 ]
check "wait=later: nothing stored" [ "$(sql "$DB" "select count(*) from runs where id='new-faster'")" = 0 ]

# 6. redbench upload prints the verdict (it waits for the analysis).
"$RB" upload --collector "$URL" "$FX/new_faster.json" > "$TMP/upl.out" 2>&1
sed "s/^/# /" "$TMP/upl.out"
check "redbench upload prints the verdict" grep -q "new_faster.json: created; verdict: [a-z_]* (" "$TMP/upl.out"
check "the uploaded run is analysed when upload returns" \
  [ "$(sql "$DB" "select analyzed_at is not null from runs where id='new-faster'")" = 1 ]

check "collector exits 0 on SIGTERM" stop_collector
finish
