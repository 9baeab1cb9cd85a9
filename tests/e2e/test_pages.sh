#!/bin/bash
# The overview, run and compare pages, triage from the pages and the browser
# login, against a real collector filled by real `redbench run` uploads
# (a real regression made through the delay proxy) and a run whose branch
# and config carry HTML payloads: numbers equal the warehouse's, the worst
# change comes first, form posts need an admin token and a same-site Origin,
# the login cookie is HttpOnly, payloads are shown as text, unknown ids 404.
. "$(dirname "$0")/lib.sh"
start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

# get PATH [CURL ARGS...]: GETs; prints the status, the page goes to $TMP/page.
get() { p=$1; shift; curl -s -m 30 -o "$TMP/page" -w '%{http_code}' "$@" "$URL$p"; }
# form PATH BODY [CURL ARGS...]: POSTs a urlencoded form; prints the status;
# headers to $TMP/hdr, body to $TMP/page.
form() {
  p=$1; b=$2; shift 2
  curl -s -m 30 -D "$TMP/hdr" -o "$TMP/page" -w '%{http_code}' \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$b" "$@" "$URL$p"
}
has() { grep -qF -- "$1" "$TMP/page"; }
lacks() { ! grep -qF -- "$1" "$TMP/page"; }

# ---- an empty warehouse ----
check "empty: / answers 200" [ "$(get /)" = 200 ]
check "empty: the overview says how to send a first run" \
  sh -c "grep -q 'How to send your first run' '$TMP/page' && grep -q 'redbench run --target' '$TMP/page' && grep -qF -- '--collector $URL' '$TMP/page'"
check "empty: /compare answers 200 with useful text" sh -c "[ \"\$(curl -s -m 30 -o '$TMP/c' -w '%{http_code}' '$URL/compare')\" = 200 ] && grep -q 'needs two runs' '$TMP/c'"
check "empty: /login answers 200 with a token field" sh -c "[ \"\$(curl -s -m 30 -o '$TMP/l' -w '%{http_code}' '$URL/login')\" = 200 ] && grep -q 'name=\"token\"' '$TMP/l'"
check "unknown run: 404 with the notfound page" sh -c "[ \"\$(curl -s -m 30 -o '$TMP/n' -w '%{http_code}' '$URL/runs/0123456789abcdef0123456789abcdef')\" = 404 ] && grep -q 'There is no run with id' '$TMP/n'"
check "unknown compare ids: 404" [ "$(get '/compare?base=nope&head=nope2')" = 404 ]

# ---- real runs ----
bench() { # bench PORT OUT: one run of a 4-cell matrix, uploaded
  "$RB" run --target "127.0.0.1:$1" --scenarios get,set --concurrency 1,4 --pipeline 1 \
    --requests 1000 --iterations 5 --warmup 100 --dataset-size 500 --quiet \
    --collector "$URL" --out "$2" > /dev/null
}
ok_runs=1
for i in 1 2 3; do bench "$REDIS_PORT" "$TMP/base$i.json" || ok_runs=0; done
check "three baseline runs on main uploaded" [ $ok_runs = 1 ]
B2=$(jget "$TMP/base2.json" '$.run_id'); B3=$(jget "$TMP/base3.json" '$.run_id')

# A run whose branch and config audit carry HTML/JS payloads (a copy of the
# first run under a new id), uploaded before the slowed run.
XSS=$(printf 'f%031x' 7)
jedit "$TMP/base1.json" "json_set(json_set(d, '\$.run_id', '$XSS'), '\$.branch', '<script>alert(1)</script>', '\$.target.config.maxmemory-policy', '\"><img src=x onerror=alert(2)>')" > "$TMP/xss.json"
"$RB" upload --collector "$URL" "$TMP/xss.json" > "$TMP/up.out" 2>&1
check "the run with HTML payloads is uploaded" [ $? = 0 ]

: > "$TMP/proxy.out"
"$RB_DELAYPROXY" 0 "127.0.0.1:$REDIS_PORT" 500 --max-seconds 120 > "$TMP/proxy.out" 2>&1 &
PIDS="$PIDS $!"
PPORT=""
for i in $(seq 1 300); do PPORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/proxy.out"); [ -n "$PPORT" ] && break; sleep 0.1; done
bench "$PPORT" "$TMP/slow.json"
S=$(jget "$TMP/slow.json" '$.run_id')
V=$(sql "$DB" "select id from verdicts where run_id='$S' and status='regression' order by id limit 1")
check "the slowed run has a regression verdict" [ -n "$V" ]

# ---- overview ----
check "overview: 200" [ "$(get /)" = 200 ]
cp "$TMP/page" "$TMP/index.html"
reg_line=$(grep -n 'id="regressions"' "$TMP/page" | cut -d: -f1)
runs_line=$(grep -n 'id="runs"' "$TMP/page" | cut -d: -f1)
check "overview: open regressions come before the runs table" sh -c "[ -n '$reg_line' ] && [ -n '$runs_line' ] && [ '$reg_line' -lt '$runs_line' ]"
first_reg=$(grep -m1 'data-verdict=' "$TMP/page")
check "overview: the first open regression is the slowed run's, linked to it and to its series" \
  sh -c "echo '$first_reg' | grep -qF 'href=\"/runs/$S\"' && echo '$first_reg' | grep -qF 'href=\"/trends?project=default&amp;branch=main&amp;key='"
check "overview: the runs table lists the latest runs of main" sh -c "grep -qF 'data-run=\"$S\"' '$TMP/page' && grep -qF 'data-run=\"$B3\"' '$TMP/page'"
check "overview: health shows the runs stored" grep -qF "<dt>Runs stored</dt><dd>5</dd>" "$TMP/page"
check "overview: the branch payload is escaped" sh -c "grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' '$TMP/page' && ! grep -qF '<script>alert(1)' '$TMP/page'"

# ---- run page ----
check "run page: 200" [ "$(get "/runs/$S")" = 200 ]
cp "$TMP/page" "$TMP/run.html"
n=0; same=0
for rid in $(sql "$DB" "select id from results where run_id='$S' order by id"); do
  n=$((n+1))
  want=$(sql "$DB" "select printf('%.0f', ops_per_sec) from results where id=$rid")
  got=$(grep "<tr id=\"r-$rid\"" "$TMP/page" | sed -n 's/.*<td class="ops">\([^<]*\)<.*/\1/p')
  [ -n "$want" ] && [ "$got" = "$want" ] && same=$((same+1))
  echo "# result $rid: page $got, warehouse $want"
done
check "run page: every cell's ops/s equals the warehouse's (%.0f)" sh -c "[ $n = 4 ] && [ $same = 4 ]"
check "run page: the matrix has one data-series row per cell" [ "$(grep -c '<tr id="r-[0-9]*" data-series=' "$TMP/page")" = 4 ]
check "run page: the regression shows its test and a p-value" grep -Eq "id=\"v-$V\"><span class=\"badge regression\"[^>]*>[a-z0-9_]+ regression [-+][0-9.]+% [a-z+-]+ p=[01]\.[0-9]{4}<" "$TMP/page"
check "run page: no price for a local preset shows a dash as cost" grep -qF '<td class="cost">–</td>' "$TMP/page"
check "run page: links to compare with the previous main run" grep -qF "href=\"/compare?base=$B3&amp;head=$S\"" "$TMP/page"
check "run page: links each cell to its series, on the run's project and branch" \
  [ "$(grep -c 'href="/trends?project=default&amp;branch=main&amp;key=' "$TMP/page")" = 4 ]
check "run page: no triage form without an admin token" sh -c "! grep -q 'action=\"/verdicts/' '$TMP/page'"
check "run page: triage forms with an admin cookie" sh -c "[ \"\$(curl -s -m 30 -b 'redbench_token=$REDBENCH_TOKEN' '$URL/runs/$S' | grep -c 'action=\"/verdicts/$V/triage\"')\" = 1 ]"
check "run page (payloads): 200" [ "$(get "/runs/$XSS")" = 200 ]
check "run page: the config payload is shown as text" sh -c "grep -qF '&quot;&gt;&lt;img src&#61;x onerror&#61;alert(2)&gt;' '$TMP/page' && ! grep -qF '<img src=x' '$TMP/page'"
check "run page: the branch payload is shown as text" sh -c "grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' '$TMP/page' && ! grep -qF '<script>alert' '$TMP/page'"

# ---- compare ----
check "compare: the picker offers the runs" sh -c "[ \"\$(curl -s -m 30 -o '$TMP/c' -w '%{http_code}' '$URL/compare')\" = 200 ] && grep -q '<select id=\"base\" name=\"base\">' '$TMP/c' && grep -qF 'value=\"$S\" selected' '$TMP/c'"
check "compare: base and head side by side: 200" [ "$(get "/compare?base=$B3&head=$S")" = 200 ]
cp "$TMP/page" "$TMP/compare.html"
changes=$(sed -n 's/.*<td class="num change verdict"><span class="badge[^"]*">\([^<]*\)%<.*/\1/p' "$TMP/page" | tr '\n' ' ')
echo "# changes worst first: $changes"
check "compare: one row per cell, sorted worst change first" \
  sh -c "[ \$(echo '$changes' | wc -w) = 4 ] && [ \"\$(echo '$changes' | tr ' ' '\n' | grep . | sort -g | tr '\n' ' ')\" = '$changes' ]"
check "compare: every cell is slower in the head run" sh -c "! echo '$changes' | grep -q '+'"
check "compare: p-values of both tests on every row" \
  sh -c "[ \$(grep -Ec '<td class=\"num p-value[^\"]*\">[01]\.[0-9]{4}</td><td class=\"num p-welch\">[01]\.[0-9]{4}</td>' '$TMP/page') = 4 ]"
heads=$(sed -n 's/.*<td class="ops head">\([^<]*\)<.*/\1/p' "$TMP/page" | sort -n | tr '\n' ' ')
want=$(sql "$DB" "select printf('%.0f', ops_per_sec) from results where run_id='$S'" | sort -n | tr '\n' ' ')
check "compare: the head values equal the warehouse's" [ -n "$want" -a "$heads" = "$want" ]
check "compare: with the payload run the branch is escaped" sh -c "[ \"\$(curl -s -m 30 -o '$TMP/c' -w '%{http_code}' '$URL/compare?base=$XSS&head=$S')\" = 200 ] && grep -qF '&lt;script&gt;alert(1)' '$TMP/c' && ! grep -qF '<script>alert' '$TMP/c'"
check "compare: one unknown id: 404" [ "$(get "/compare?base=$B3&head=0123456789abcdef0123456789abcdef")" = 404 ]

# ---- triage from the pages ----
FORM="decision=false_positive&note=noisy+%3Cb%3Eneighbour%3C%2Fb%3E&back=%2Fruns%2F$S"
READTOK=$("$RB" token create --role read --name pages-read --db "$DB" 2> /dev/null | grep -Eo '^rbt_[0-9a-f]+')
check "a read token is made" [ -n "$READTOK" ]
check "triage form without a token: 401" [ "$(form "/verdicts/$V/triage" "$FORM" -H "Origin: $URL")" = 401 ]
check "triage form with a read token cookie: 403" [ "$(form "/verdicts/$V/triage" "$FORM" -H "Origin: $URL" -b "redbench_token=$READTOK")" = 403 ]
check "triage form, admin cookie, cross-site Origin: 403" [ "$(form "/verdicts/$V/triage" "$FORM" -H 'Origin: http://evil.example' -b "redbench_token=$REDBENCH_TOKEN")" = 403 ]
check "triage form, admin cookie, cross-site Referer and no Origin: 403" [ "$(form "/verdicts/$V/triage" "$FORM" -H 'Referer: http://evil.example/x' -b "redbench_token=$REDBENCH_TOKEN")" = 403 ]
check "triage form, admin cookie, neither Origin nor Referer: 403" [ "$(form "/verdicts/$V/triage" "$FORM" -b "redbench_token=$REDBENCH_TOKEN")" = 403 ]
check "nothing was triaged by the refused posts" [ "$(sql "$DB" "select count(*) from verdicts where triage is not null")" = 0 ]
check "triage form with a bad decision: 400" [ "$(form "/verdicts/$V/triage" "decision=maybe" -H "Origin: $URL" -b "redbench_token=$REDBENCH_TOKEN")" = 400 ]
check "triage form on an unknown verdict: 404" [ "$(form "/verdicts/99999999/triage" "$FORM" -H "Origin: $URL" -b "redbench_token=$REDBENCH_TOKEN")" = 404 ]
code=$(form "/verdicts/$V/triage" "$FORM" -H "Origin: $URL" -b "redbench_token=$REDBENCH_TOKEN")
check "triage form, admin cookie, same-site Origin: 303 back to the run page" \
  sh -c "[ '$code' = 303 ] && grep -qi '^Location: /runs/$S' '$TMP/hdr'"
check "the verdict is a false positive with the note, by the dashboard" \
  [ "$(sql "$DB" "select triage||'|'||triage_note||'|'||triaged_by from verdicts where id=$V")" = "false_positive|noisy <b>neighbour</b>|dashboard" ]
check "the overview no longer lists the triaged result among open regressions" \
  sh -c "[ \"\$(curl -s -m 30 '$URL/' | grep -c 'data-verdict=\"$V\"')\" = 0 ]"
check "run page shows the triage and escapes nothing wrongly" sh -c "curl -s -m 30 '$URL/runs/$S' > '$TMP/r2' && grep -q 'badge triaged\">false_positive' '$TMP/r2'"
code=$(form "/verdicts/$V/triage" "decision=accepted&back=%2F%2Fevil.example%2F" -H "Authorization: Bearer $REDBENCH_TOKEN")
tri=$(sql "$DB" "select triage from verdicts where id=$V")
check "triage form with a bearer token needs no Origin; a foreign back URL falls back to the run" \
  sh -c "[ '$code' = 303 ] && grep -qi '^Location: /runs/$S' '$TMP/hdr' && [ '$tri' = accepted ]"

# ---- login ----
BAD="wrong-token-$(od -An -N6 -tx8 /dev/urandom | tr -d ' ')"
code=$(form /login "token=$BAD&next=%2Fcompare" -H "Origin: $URL")
check "login with an unknown token: 401, no cookie, the token not echoed" \
  sh -c "[ '$code' = 401 ] && ! grep -qi '^Set-Cookie' '$TMP/hdr' && ! grep -qF '$BAD' '$TMP/page'"
code=$(form /login "token=$REDBENCH_TOKEN" -H 'Origin: http://evil.example')
check "login from a cross-site Origin: 403, no cookie" sh -c "[ '$code' = 403 ] && ! grep -qi '^Set-Cookie' '$TMP/hdr'"
code=$(form /login "token=$REDBENCH_TOKEN&next=%2Fcompare" -H "Origin: $URL" -c "$TMP/jar")
cookie=$(grep -i '^Set-Cookie:' "$TMP/hdr" | tr -d '\r')
echo "# ${cookie//$REDBENCH_TOKEN/TOKEN}"
check "login: 303 to next, cookie redbench_token HttpOnly, SameSite=Strict, Path=/, not Secure over http" \
  sh -c "[ '$code' = 303 ] && grep -qi '^Location: /compare' '$TMP/hdr' && echo '$cookie' | grep -qF 'redbench_token=$REDBENCH_TOKEN; HttpOnly; SameSite=Strict; Path=/' && ! echo '$cookie' | grep -q Secure"
check "login: the answer's body does not hold the token" lacks "$REDBENCH_TOKEN"
code=$(form /login "token=$REDBENCH_TOKEN" -H 'Origin: https://dash.example' -H 'Host: dash.example' -H 'X-Forwarded-Proto: https')
check "login behind an https proxy: the cookie is Secure" sh -c "[ '$code' = 303 ] && grep -i '^Set-Cookie' '$TMP/hdr' | grep -q '; Secure'"
check "the login cookie grants admin on the pages (triage forms shown)" \
  sh -c "curl -s -m 30 -b '$TMP/jar' '$URL/runs/$S' | grep -q 'action=\"/verdicts/'"
code=$(form /logout "" -H "Origin: $URL")
check "logout: 303 and the cookie expired" sh -c "[ '$code' = 303 ] && grep -i '^Set-Cookie' '$TMP/hdr' | grep -q 'redbench_token=; .*Max-Age=0'"
check "no token appears in the collector's output" \
  sh -c "! grep -qF '$REDBENCH_TOKEN' '$TMP/serve.err' '$TMP/serve.out' && ! grep -qF '$BAD' '$TMP/serve.err' '$TMP/serve.out'"

# ---- query plans: the pages' queries search indexes, never scan results ----
plan() { sqlite3 "$DB" "EXPLAIN QUERY PLAN $1" | tr '\n' ' '; }
noscan() { ! echo "$1" | grep -Eq 'SCAN (results|x|v|verdicts|samples)( |$)'; }
p1=$(plan "SELECT id, scenario, op FROM results WHERE run_id='$S' ORDER BY id")
p2=$(plan "SELECT result_id, usd_per_mop FROM cost_per_op WHERE run_id='$S' ORDER BY result_id")
p3=$(plan "SELECT v.id FROM verdicts v JOIN runs u ON u.id = v.run_id WHERE v.status='regression' AND v.triage IS NULL ORDER BY v.result_id DESC, v.id DESC LIMIT 20")
p4=$(plan "SELECT id, series_key, scenario, op, concurrency, pipeline, value_size, dataset_size, errors, ops_per_sec, p50_us, p99_us FROM results WHERE run_id='$S' ORDER BY series_key")
p5=$(plan "SELECT id, metric FROM verdicts WHERE result_id=1 ORDER BY id")
p6=$(plan "SELECT ops_per_sec FROM samples WHERE result_id=1 ORDER BY iteration")
echo "# plans: $p1 / $p2 / $p3 / $p4 / $p5 / $p6"
check "query plans: the run matrix, its cost and verdicts search by index" sh -c "$(declare -f noscan); noscan '$p1' && noscan '$p2' && noscan '$p5'"
check "query plans: open regressions walk the partial index" sh -c "echo '$p3' | grep -q 'verdicts_untriaged_regressions'"
check "query plans: compare reads results and samples by index, no sort of results" \
  sh -c "$(declare -f noscan); noscan '$p4' && noscan '$p6' && ! echo '$p4' | grep -q 'TEMP B-TREE'"

check "the collector exits 0 on SIGTERM" stop_collector

# ---- a run whose analysis is pending (collector stopped: one writer at a time) ----
sql "$DB" "update runs set verdict_status='pending' where id='$B2'"
start_collector "$DB" || notok "collector restarts"
check "run page of a pending run: 200 and says the analysis is running" \
  sh -c "[ \"\$(curl -s -m 30 -o '$TMP/p' -w '%{http_code}' '$URL/runs/$B2')\" = 200 ] && grep -q 'id=\"run-status\">pending<' '$TMP/p' && grep -q 'analysis is running' '$TMP/p'"
check "overview shows the pending badge" sh -c "curl -s -m 30 '$URL/' | grep -F 'data-run=\"$B2\"' | grep -q 'badge pending'"
check "the collector exits 0 on SIGTERM (again)" stop_collector

# ---- a private dashboard sends browsers to the login form, never API clients ----
RB_PRIVATE=1 start_collector "$DB" || notok "private collector starts"
hdr() { curl -s -m 30 -o /dev/null -D - "$@" | tr -d '\r'; }
check "private: a browser asking for a page is sent to /login?next=... (303)" \
  sh -c "hdr() { $(declare -f hdr | sed 1,2d | sed '$d'); }; hdr -H 'Accept: text/html' '$URL/runs/$B2?x=1' | grep -qx 'Location: /login?next=%2Fruns%2F$B2'"
check "private: the API answers 401 even to a browser" \
  [ "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$URL/api/v1/runs")" = 401 ]
check "private: a page without Accept text/html answers 401" \
  [ "$(curl -s -m 30 -o /dev/null -w '%{http_code}' "$URL/")" = 401 ]
check "private: the login form keeps next" sh -c "curl -s -m 30 '$URL/login?next=%2Fcompare' | grep -q 'value=\"/compare\"'"
check "the private collector exits 0 on SIGTERM" stop_collector
finish
