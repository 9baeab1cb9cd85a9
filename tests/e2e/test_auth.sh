#!/bin/bash
# Tokens with roles against a real collector without --public-read: stored
# hashed, each role allowed exactly its endpoints, revocation, no secret logged.
. "$(dirname "$0")/lib.sh"
DB="$TMP/wh.db"
check "token refuses a warehouse that does not exist" sh -c "! '$RB' token list --db '$DB' 2>/dev/null"
"$RB" migrate --db "$DB" > /dev/null
mk() { "$RB" token create --role "$1" --name "$1-bot" --db "$DB" 2> /dev/null; }
READ=$(mk read); INGEST=$(mk ingest); QUERY=$(mk query)
check "token create prints a token per role" sh -c "[ -n '$READ' ] && [ -n '$INGEST' ] && [ -n '$QUERY' ]"
check "tokens are stored hashed, never in clear" sh -c "! grep -q -a '$INGEST' '$DB' && [ \"\$(sqlite3 '$DB' 'select count(*) from tokens where length(token_sha256) = 64')\" = 3 ]"
check "token list shows names and roles, not secrets" sh -c "'$RB' token list --db '$DB' | grep -q 'ingest-bot' && ! '$RB' token list --db '$DB' | grep -q '$INGEST'"
check "token create refuses an unknown role" sh -c "! '$RB' token create --role root --db '$DB' 2>/dev/null"

start_redis || { notok "redis-server starts"; finish; }
RB_PRIVATE=1 start_collector "$DB" || { notok "collector starts"; finish; }
code() { curl -s -m 10 -o /dev/null -w '%{http_code}' "$@"; }
check "healthz is open" [ "$(code "$URL/healthz")" = 200 ]
check "metrics are open" [ "$(code "$URL/metrics")" = 200 ]
check "pages need a token (401)" [ "$(code "$URL/")" = 401 ]
check "the API needs a token (401)" [ "$(code "$URL/api/v1/runs")" = 401 ]
check "a read token opens the pages" [ "$(code -H "Authorization: Bearer $READ" "$URL/")" = 200 ]
check "a read token in the redbench_token cookie opens the pages" [ "$(code -b "redbench_token=$READ" "$URL/")" = 200 ]
check "an unknown token is refused (401)" [ "$(code -H "Authorization: Bearer rbt_nope" "$URL/api/v1/runs")" = 401 ]

"$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios get --requests 300 --iterations 2 --warmup 50 \
  --concurrency 2 --dataset-size 50 --quiet --out "$TMP/run.json" > /dev/null
code_post() { curl -s -m 10 -o "$TMP/post.out" -w '%{http_code}' -H "Authorization: Bearer $1" \
  -H 'Content-Type: application/json' --data-binary @"$2" "$URL$3"; }
check "a read token may not upload (403)" [ "$(code_post "$READ" "$TMP/run.json" /api/v1/runs)" = 403 ]
check "the 403 names the missing role" grep -q "lacks the ingest role" "$TMP/post.out"
check "an ingest token uploads (201)" [ "$(code_post "$INGEST" "$TMP/run.json" /api/v1/runs)" = 201 ]
echo '{"sql":"select count(*) from runs"}' > "$TMP/q.json"
check "an ingest token may not query (403)" [ "$(code_post "$INGEST" "$TMP/q.json" /api/v1/query)" = 403 ]
check "a query token queries (200)" [ "$(code_post "$QUERY" "$TMP/q.json" /api/v1/query)" = 200 ]
echo '{"sql":"select token_sha256 from tokens"}' > "$TMP/q2.json"
check "not even a query token reads the token hashes (400)" [ "$(code_post "$QUERY" "$TMP/q2.json" /api/v1/query)" = 400 ]
check "the bootstrap token is admin" [ "$(code_post "$REDBENCH_TOKEN" "$TMP/q.json" /api/v1/query)" = 200 ]
check "no token appears in the collector's log" sh -c "! grep -q -e '$INGEST' -e '$READ' -e '$QUERY' -e '$REDBENCH_TOKEN' '$TMP/serve.err' '$TMP/serve.out'"

stop_collector
ID=$(sqlite3 "$DB" "select id from tokens where name='ingest-bot'")
check "token revoke" "$RB" token revoke "$ID" --db "$DB"
RB_PRIVATE=1 start_collector "$DB" || { notok "collector restarts"; finish; }
jedit "$TMP/run.json" "json_set(d, '\$.run_id', 'after-revoke')" > "$TMP/run2.json"
rv=$(code_post "$INGEST" "$TMP/run2.json" /api/v1/runs)
check "a revoked token is refused (401, got $rv)" [ "$rv" = 401 ]
check "collector stops cleanly" stop_collector
finish
