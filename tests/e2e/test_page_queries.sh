#!/bin/bash
# The faster page queries show what the straightforward ones did: the overview's
# runs (read backwards from the covering index runs_list, equal start times put in
# id order by the collector) in the order ORDER BY started_at DESC, id LIMIT 500
# gives, on runs with many equal start times; its last ingest; and the query plans
# of /modes and /cost (one seek per deployment in runs_by_deployment) and of the
# overview (no sort).
. "$(dirname "$0")/lib.sh"
DB="$TMP/w.db"
check "migrate creates a warehouse" sh -c "'$RB' migrate --db '$DB' > /dev/null"
# 900 runs at 12 start times (ORDER BY started_at DESC, id puts the 500th inside a tie of
# 75: 2026-10-02T02), on 3 branches and 4 modes, some branches of one run, and the pair
# rare/single whose 4 runs all share that start time: 3 up to the 500th, 1 after. So
# the 500 runs looked at and their order among equal start times both show.
sql "$DB" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 899),
  m AS (SELECT i, (i * 17) % 4 = 1 AND (i * 5) % 3 = 2 AND i % 17 = 0 AS rare FROM n)
  INSERT INTO runs(id, project, branch, commit_sha, mode, started_at, ended_at, document, ingested_at)
  SELECT printf('r%04d-%d', (i * 7919) % 10000, i), 'p',
         CASE WHEN rare THEN 'rare' WHEN i % 97 = 0 THEN 'solo' || i ELSE 'b' || ((i * i + 7 * i) % 3) END, 'c' || i,
         CASE WHEN rare THEN 'single' WHEN (i / 7) % 4 = 0 THEN 'single' WHEN (i / 7) % 4 = 1 THEN 'client-server'
              WHEN (i / 7) % 4 = 2 THEN 'multi-region' ELSE 'cluster' END,
         printf('2026-10-%02dT%02d:00:00.000Z', 1 + (i * 17) % 4, (i * 5) % 3), '2026-10-05T00:00:00.000Z',
         '{}', printf('2026-11-%02dT10:00:00.000Z', 1 + (i * 3) % 27) FROM m"
check "the warehouse holds 900 runs at 12 start times, 4 of them rare/single" \
  [ "$(sql "$DB" "SELECT count(*) || ' ' || count(DISTINCT started_at) || ' ' || sum(branch = 'rare') FROM runs")" = "900 12 4" ]
check "3 rare/single runs are among the first 500, at the 500th's start time" \
  [ "$(sql "$DB" "SELECT sum(branch = 'rare') || ' ' || max(started_at = '2026-10-02T02:00:00.000Z')
                  FROM (SELECT branch, started_at FROM runs ORDER BY started_at DESC, id LIMIT 500)")" = "3 1" ]

# What the overview shows: the first 20 branch and mode pairs of those 500 runs, 5 runs each.
sql "$DB" "SELECT id, branch, mode FROM runs ORDER BY started_at DESC, id LIMIT 500" |
  awk -F'|' '{ k = $2 "|" $3
               if (!(k in n)) { if (groups >= 20) next; n[k] = 0; order[++groups] = k }
               if (n[k] >= 5) next; runs[k, ++n[k]] = $1 }
             END { for (g = 1; g <= groups; g++) for (r = 1; r <= n[order[g]]; r++) print runs[order[g], r] }' \
  > "$TMP/want"
start_collector "$DB" --page-cache-ms 0
check "GET / answers 200" [ "$(curl -s -m 30 -o "$TMP/index.html" -w '%{http_code}' "$URL/")" = 200 ]
grep -o '/runs/r[0-9]*-[0-9]*' "$TMP/index.html" | sed 's,^/runs/,,' | awk '!seen[$0]++' > "$TMP/got"
check "the overview lists runs in the order of ORDER BY started_at DESC, id ($(wc -l < "$TMP/want") runs)" \
  sh -c "[ -s '$TMP/want' ] && cmp -s '$TMP/want' '$TMP/got'"
[ -s "$TMP/want" ] && ! cmp -s "$TMP/want" "$TMP/got" && diff "$TMP/want" "$TMP/got" | head -n 10 | sed 's/^/# /'
check "the overview's last ingest is the latest ingested_at" \
  grep -q "<dd>$(sql "$DB" "SELECT max(ingested_at) FROM runs")</dd>" "$TMP/index.html"
check "GET /modes and GET /cost answer 200" sh -c \
  "[ \"\$(curl -s -m 30 -o /dev/null -w '%{http_code}' '$URL/modes?project=p&branch=b1')\" = 200 ] &&
   [ \"\$(curl -s -m 30 -o /dev/null -w '%{http_code}' '$URL/cost?project=p&branch=b1')\" = 200 ]"
check "the collector exits 0 on SIGTERM" stop_collector

# ---- query plans ----
plan() { sqlite3 "$DB" "EXPLAIN QUERY PLAN $1" | tr '\n' ' '; }
p1=$(plan "SELECT mode, client_region, server_region, target_preset FROM runs WHERE project = 'p' AND branch = 'b1'
  AND (mode, client_region, server_region, target_preset, started_at) > ('', '', '', '', x'')
  ORDER BY mode, client_region, server_region, target_preset LIMIT 1")
p2=$(plan "SELECT id, started_at FROM runs u WHERE project = 'p' AND branch = 'b1' AND mode = 'single'
  AND client_region = 'local' AND server_region = 'local' AND target_preset = 'local' AND started_at >= ''
  AND (started_at > '' OR rowid >= 0) ORDER BY started_at DESC, id DESC LIMIT 1")
p3=$(plan "SELECT id, project, branch, commit_sha, mode, started_at, target_kind, target_version, verdict_status,
  n_results, n_regressions, n_improvements FROM runs INDEXED BY runs_list ORDER BY started_at DESC, id DESC")
p4=$(plan "SELECT max(ingested_at) FROM runs")
echo "# plans: $p1 / $p2 / $p3 / $p4"
check "query plans: the next deployment is one seek in runs_by_deployment" \
  sh -c "echo '$p1' | grep -q 'SEARCH runs USING COVERING INDEX runs_by_deployment' && ! echo '$p1' | grep -q 'TEMP B-TREE'"
check "query plans: a deployment's latest run is one seek in runs_by_deployment" \
  sh -c "echo '$p2' | grep -q 'USING COVERING INDEX runs_by_deployment (project=? AND branch=? AND mode=?' && ! echo '$p2' | grep -q 'TEMP B-TREE'"
check "query plans: the overview walks runs_list without a sort" \
  sh -c "echo '$p3' | grep -q 'COVERING INDEX runs_list' && ! echo '$p3' | grep -q 'TEMP B-TREE'"
check "query plans: the last ingest reads runs_by_ingest" sh -c "echo '$p4' | grep -q 'runs_by_ingest'"
finish
