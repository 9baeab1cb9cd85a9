#!/bin/bash
# The /sql page end to end: a private collector filled by real runs (one on a
# branch carrying an HTML payload); a query-role token (bearer or the
# redbench_token cookie) runs a query and sees the rows sqlite3 sees, the CSV
# download matches, writes are refused and change nothing; without a token 401;
# a read-only token sees a disabled box and runs nothing; cells and the echoed
# query are escaped; docs/queries.md's examples are one click away; the row
# cap and the q length limit hold.
. "$(dirname "$0")/lib.sh"
DOCS="$(dirname "$0")/../../docs/queries.md"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
"$RB" migrate --db "$DB" > /dev/null 2>&1
QTOK=$("$RB" token create --role query --name sql-page --db "$DB" 2> /dev/null)
RTOK=$("$RB" token create --role read --name sql-read --db "$DB" 2> /dev/null)
check "query and read tokens created" sh -c "[ -n '$QTOK' ] && [ -n '$RTOK' ]"
RB_PRIVATE=1 start_collector "$DB" || { notok "collector starts"; finish; }

PAYLOAD='x<script>alert(1)</script>&"'"'"
runs_ok=1
for b in main main "$PAYLOAD"; do
  "$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 2 --pipeline 1 \
    --requests 300 --iterations 2 --warmup 20 --dataset-size 50 --branch "$b" --commit "c-$RANDOM" \
    --quiet --collector "$URL" > "$TMP/run.out" 2> "$TMP/run.err" || { runs_ok=0; cat "$TMP/run.err" >&2; }
done
check "three runs upload" [ $runs_ok = 1 ]
check "warehouse holds 3 runs" [ "$(sql "$DB" 'select count(*) from runs')" = 3 ]
state() { sql "$DB" "select (select count(*) from runs)||'/'||(select count(*) from results)||'/'||(select count(*) from samples)||'/'||(select count(*) from sqlite_schema)"; }
BEFORE=$(state)

# page [CURL ARGS...] URLPATH: GETs URLPATH; status printed, body in $TMP/p.html, headers in $TMP/p.hdr.
page() {
  path=${*: -1}
  curl -s -m 30 -D "$TMP/p.hdr" -o "$TMP/p.html" -w '%{http_code}' "${@:1:$#-1}" "$URL$path"
}
# qs SQL: SQL as a URL query value.
qs() { printf '%s' "$1" | od -An -tx1 -v | tr -s ' \n' ' ' | sed 's/ $//; s/ /%/g'; }
# rows_of FILE: the result table's rows as "a|b|c" lines, entities decoded.
rows_of() {
  sed -n '/<table id="sql-result">/,/<\/table>/p' "$1" | grep '^<tr><td' |
    sed -e 's/^<tr><td[^>]*>//' -e 's,</td></tr>$,,' -e 's,</td><td[^>]*>,|,g' \
        -e 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&#39;/'"'"'/g; s/&#96;/`/g; s/&#61;/=/g; s/&amp;/\&/g'
}
AUTH="Authorization: Bearer $QTOK"
Q1="SELECT id, branch, mode, (SELECT count(*) FROM results x WHERE x.run_id = r.id) AS n FROM runs r ORDER BY started_at, id"

# Without a token (private collector): 401, nothing runs.
code=$(page "/sql?q=$(qs "$Q1")")
check "no token: /sql answers 401" [ "$code" = 401 ]
code=$(page "/sql.csv?q=$(qs "$Q1")")
check "no token: /sql.csv answers 401" [ "$code" = 401 ]

# A read-only token: the page explains, the box is disabled, nothing runs.
code=$(page -H "Authorization: Bearer $RTOK" "/sql?q=$(qs "$Q1")")
check "read token: 200" [ "$code" = 200 ]
check "read token: the box and the button are disabled" \
  sh -c "grep -q '<textarea id=\"q\" name=\"q\"[^>]*disabled' '$TMP/p.html' && grep -q '<button type=\"submit\" disabled' '$TMP/p.html'"
check "read token: the page says how to get the query role" grep -q 'redbench token create --role query' "$TMP/p.html"
check "read token: no result table, the query was not run" \
  sh -c "! grep -q 'id=\"sql-result\"' '$TMP/p.html' && grep -q 'was not run' '$TMP/p.html'"
code=$(page -H "Authorization: Bearer $RTOK" "/sql.csv?q=$(qs "$Q1")")
check "read token: /sql.csv answers 403" [ "$code" = 403 ]
code=$(page -H "Authorization: Bearer $RTOK" "/sql?format=csv&q=$(qs "$Q1")")
check "read token: /sql?format=csv answers 403" [ "$code" = 403 ]

# A query token: the rows sqlite3 sees.
sqlite3 -separator '|' "$DB" "$Q1" > "$TMP/want.txt"
code=$(page -H "$AUTH" "/sql?q=$(qs "$Q1")")
rows_of "$TMP/p.html" > "$TMP/got.txt"
check "query token (bearer): 200 and a result table" sh -c "[ '$code' = 200 ] && grep -q 'id=\"sql-result\"' '$TMP/p.html'"
check "the table holds the rows sqlite3 returns (3, payload branch included)" \
  sh -c "[ \$(wc -l < '$TMP/want.txt') = 3 ] && cmp -s '$TMP/want.txt' '$TMP/got.txt'"
cmp -s "$TMP/want.txt" "$TMP/got.txt" || diff "$TMP/want.txt" "$TMP/got.txt" >&2
check "the header row names the columns" grep -q '<th scope="col">id</th><th scope="col">branch</th><th scope="col">mode</th><th scope="col">n</th>' "$TMP/p.html"
check "row count and time taken shown" sh -c "grep -q '<span id=\"sql-rows\">3</span> rows in <span id=\"sql-ms\">[0-9.]*</span> ms' '$TMP/p.html'"
check "the stored HTML payload is shown as text, never as markup" \
  sh -c "grep -q 'x&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;' '$TMP/p.html' && ! grep -q '<script>alert' '$TMP/p.html'"
code=$(page --cookie "redbench_token=$QTOK" "/sql?q=$(qs "$Q1")")
rows_of "$TMP/p.html" > "$TMP/got2.txt"
check "query token as the redbench_token cookie works too" sh -c "[ '$code' = 200 ] && cmp -s '$TMP/want.txt' '$TMP/got2.txt'"
check "the box is enabled for the query role" sh -c "! grep -q '<textarea id=\"q\" name=\"q\"[^>]*disabled' '$TMP/p.html'"

# The echoed query and a literal payload in a cell are escaped.
XSS="SELECT '<img src=x onerror=alert(2)>' AS \"<b>h</b>\", NULL AS n, 9007199254740993 AS big"
code=$(page -H "$AUTH" "/sql?q=$(qs "$XSS")")
check "payload query: 200" [ "$code" = 200 ]
check "a cell's HTML is escaped" sh -c "grep -q '<td>&lt;img src&#61;x onerror&#61;alert(2)&gt;</td>' '$TMP/p.html' && ! grep -q '<img src=x' '$TMP/p.html'"
check "a column name's HTML is escaped" grep -q '<th scope="col">&lt;b&gt;h&lt;/b&gt;</th>' "$TMP/p.html"
check "the query in the box is escaped" grep -q "&#39;&lt;img src&#61;x onerror&#61;alert(2)&gt;&#39;" "$TMP/p.html"
check "NULL and integers beyond 2^53 shown exactly" sh -c "grep -q '<td class=\"muted\">NULL</td><td>9007199254740993</td>' '$TMP/p.html'"

# CSV download: the same rows, RFC 4180 quoting, an attachment.
Q2="SELECT id, branch, 'a,b \"c\"' AS q FROM runs ORDER BY started_at, id"
code=$(page -H "$AUTH" "/sql.csv?q=$(qs "$Q2")")
cp "$TMP/p.html" "$TMP/csv1"
{ printf 'id,branch,q\r\n'; sqlite3 -separator '|' "$DB" "SELECT id, branch FROM runs ORDER BY started_at, id" |
    while IFS='|' read -r id br; do
      case $br in *[,\"]*) br="\"$(printf '%s' "$br" | sed 's/"/""/g')\"";; esac
      printf '%s,%s,"a,b ""c"""\r\n' "$id" "$br"
    done; } > "$TMP/want.csv"
check "CSV: 200, text/csv, an attachment" sh -c "[ '$code' = 200 ] && grep -qi '^content-type: text/csv' '$TMP/p.hdr' && grep -qi '^content-disposition: attachment; filename=' '$TMP/p.hdr'"
check "CSV matches the warehouse, quoted per RFC 4180" cmp -s "$TMP/want.csv" "$TMP/csv1"
cmp -s "$TMP/want.csv" "$TMP/csv1" || diff "$TMP/want.csv" "$TMP/csv1" >&2
code=$(page -H "$AUTH" "/sql?format=csv&q=$(qs "$Q2")")
check "/sql?format=csv gives the same CSV" sh -c "[ '$code' = 200 ] && cmp -s '$TMP/csv1' '$TMP/p.html'"
code=$(page -H "$AUTH" "/sql?q=$(qs "$Q2")")
link=$(grep -o '<a id="sql-csv" href="[^"]*"' "$TMP/p.html" | sed 's/^<a id="sql-csv" href="//; s/"$//; s/&amp;/\&/g')
code=$(page -H "$AUTH" "${link:-/nothing}")
check "the page's CSV link downloads the same CSV" sh -c "[ '$code' = 200 ] && cmp -s '$TMP/csv1' '$TMP/p.html'"

# Writes are refused and change nothing; errors are shown.
for w in "DELETE FROM runs" "UPDATE runs SET branch = 'hacked'" "DROP TABLE results" "PRAGMA writable_schema = ON" \
         "SELECT 1; DELETE FROM runs" "ATTACH DATABASE '$TMP/x.db' AS x"; do
  code=$(page -H "$AUTH" "/sql?q=$(qs "$w")")
  check "refused on the page: $w" sh -c "[ '$code' = 200 ] && grep -q '<p class=\"notice\" role=\"alert\" id=\"sql-error\">refused' '$TMP/p.html' && ! grep -q 'id=\"sql-result\"' '$TMP/p.html'"
done
code=$(page -H "$AUTH" "/sql.csv?q=$(qs "DELETE FROM runs")")
check "refused as CSV: 400 with the reason" sh -c "[ '$code' = 400 ] && grep -q 'refused: DELETE runs' '$TMP/p.html'"
check "nothing changed in the warehouse" [ "$(state)" = "$BEFORE" ]
check "no file attached" [ ! -e "$TMP/x.db" ]
code=$(page -H "$AUTH" "/sql?q=$(qs "SELECT * FROM no_such_table")")
check "an SQL error shows SQLite's message" grep -q 'sqlite: no such table: no_such_table' "$TMP/p.html"

# The documented examples, one click away.
nblocks=$(grep -c '^```sql' "$DOCS")
code=$(page -H "$AUTH" "/sql")
nlinks=$(sed -n '/<ol class="examples" id="sql-examples">/,/<\/ol>/p' "$TMP/p.html" | grep -c '^<li><a href="/sql?q=')
check "every sql block of docs/queries.md is an example link ($nlinks of $nblocks)" sh -c "[ '$code' = 200 ] && [ '$nlinks' = '$nblocks' ] && [ '$nblocks' -ge 12 ]"
check "an example's title comes from the doc" grep -q '>Every series, with its latest numbers</a></li>' "$TMP/p.html"
first=$(grep -o '^<li><a href="/sql?q=[^"]*"' "$TMP/p.html" | head -1 | sed 's/^<li><a href="//; s/"$//')
awk '/^```sql[ \t]*$/ { n++; inb = 1; next } /^```/ { inb = 0; next } inb && n == 1 { print }' "$DOCS" > "$TMP/ex1.sql"
# sqlite3 prints whole reals as "63522.0", sqlq (as the API) as "63522".
sqlite3 -separator '|' "$DB" < "$TMP/ex1.sql" | sed -e ':a' -e 's/\.0\(|\|$\)/\1/' -e 'ta' > "$TMP/ex1.want"
code=$(page -H "$AUTH" "$first")
rows_of "$TMP/p.html" > "$TMP/ex1.got"
check "the first example link runs it: the rows sqlite3 returns" \
  sh -c "[ '$code' = 200 ] && [ -s '$TMP/ex1.want' ] && cmp -s '$TMP/ex1.want' '$TMP/ex1.got'"
cmp -s "$TMP/ex1.want" "$TMP/ex1.got" || diff "$TMP/ex1.want" "$TMP/ex1.got" >&2

# Limits: the row cap with a note; the q length.
MANY='WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 10500) SELECT x FROM c'
code=$(page -H "$AUTH" "/sql?q=$(qs "$MANY")")
n=$(rows_of "$TMP/p.html" | wc -l)
last=$(rows_of "$TMP/p.html" | tail -1)
check "row cap: 10000 rows shown and a truncation note" \
  sh -c "[ '$code' = 200 ] && [ '$n' = 10000 ] && [ '$last' = 10000 ] && grep -q 'id=\"sql-truncated\"' '$TMP/p.html'"
code=$(page -H "$AUTH" "/sql?q=$(qs "SELECT 1 AS x")")
check "no truncation note when all rows fit" sh -c "[ '$code' = 200 ] && ! grep -q 'id=\"sql-truncated\"' '$TMP/p.html'"
# Long SQL goes as a form body (POST /sql): up to 100 KB runs, beyond is 413.
long=$(head -c 60000 /dev/zero | tr '\0' 'x')
printf "q=SELECT+length('%s')+AS+n" "$long" > "$TMP/form"
code=$(curl -s -m 30 -o "$TMP/p.html" -w '%{http_code}' -H "$AUTH" --data-binary @"$TMP/form" "$URL/sql")
check "POST /sql with a 60 KB query runs it" sh -c "[ '$code' = 200 ] && [ \"\$(sed -n 's,^<tr><td>\\(.*\\)</td></tr>\$,\\1,p' '$TMP/p.html')\" = 60000 ]"
long=$(head -c 102400 /dev/zero | tr '\0' 'x')
printf "q=SELECT+'%s'" "$long" > "$TMP/form"
code=$(curl -s -m 30 -o "$TMP/p.html" -w '%{http_code}' -H "$AUTH" --data-binary @"$TMP/form" "$URL/sql")
check "POST /sql with q over 100 KB: 413" sh -c "[ '$code' = 413 ] && grep -q 'longer than 102400 bytes' '$TMP/p.html'"
code=$(curl -s -m 30 -o "$TMP/p.html" -w '%{http_code}' -H "$AUTH" --data-binary @"$TMP/form" "$URL/sql?format=csv")
check "POST /sql?format=csv with q over 100 KB: 413" [ "$code" = 413 ]
code=$(curl -s -m 30 -o "$TMP/p.html" -w '%{http_code}' -H "Authorization: Bearer $RTOK" --data-binary "q=SELECT+1" "$URL/sql")
check "POST /sql with a read token runs nothing" sh -c "[ '$code' = 200 ] && grep -q 'was not run' '$TMP/p.html' && ! grep -q 'id=\"sql-result\"' '$TMP/p.html'"
code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "$AUTH" "$URL/sql?q=SELECT%20'$long'")
check "a URL too long for the server is refused (4xx: $code)" sh -c "[ '$code' = 413 ] || [ '$code' = 414 ]"
code=$(page -H "$AUTH" "/sql")
check "the page still answers after all that" [ "$code" = 200 ]

check "collector stops cleanly on SIGTERM" stop_collector
check "no branch was rewritten" [ "$(sql "$DB" "select count(*) from runs where branch = 'hacked'")" = 0 ]
check "PRAGMA integrity_check is ok" [ "$(sql "$DB" 'PRAGMA integrity_check')" = ok ]
finish
