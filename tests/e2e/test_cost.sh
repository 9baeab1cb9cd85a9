#!/bin/bash
# End to end: cost per operation. Real redis-server and collector; runs tagged
# with Fly presets and regions; the cost_per_op view gives USD per million
# operations from the seeded prices, and prices added through the API apply
# from their effective date on.
. "$(dirname "$0")/lib.sh"

start_redis || { notok "redis-server starts"; finish; }
DB="$TMP/wh.db"
start_collector "$DB" || { notok "collector starts"; finish; }

run() { # run NAME ARGS...: one small run uploaded to the collector
  name=$1; shift
  "$RB" run --target "127.0.0.1:$REDIS_PORT" --scenarios set,get --concurrency 2 --requests 1000 \
    --iterations 2 --warmup 100 --dataset-size 100 --quiet --collector "$URL" \
    --out "$TMP/$name.json" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"
}
check "a run with --preset performance-1x uploads" run p1 --preset performance-1x
check "a run with a syd client, iad server uploads" run xr --preset performance-1x --client-region syd --server-region iad
check "a run with the local preset uploads" run loc
P1=$(jget "$TMP/p1.json" '$.run_id'); XR=$(jget "$TMP/xr.json" '$.run_id'); LOC=$(jget "$TMP/loc.json" '$.run_id')

# close A B: relative difference below 1e-9.
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(a != "" && b != "" && d <= 1e-9 * m) }'; }

check "seeded prices: 31 machine rows, 3 egress rows" \
  [ "$(sql "$DB" "select count(*) from machine_prices")/$(sql "$DB" "select count(*) from egress_prices")" = 31/3 ]
check "seeded performance-1x 2 GB at 0.00001196 USD/s from 2025-08-19" \
  [ "$(sql "$DB" "select usd_per_second||' '||effective_date from machine_prices where preset='performance-1x' and memory_mb=2048")" = "1.196e-05 2025-08-19" ]

# Machine cost: usd_per_second / ops_per_sec * 1e6, per result.
all=1
while IFS='|' read -r rid ops got; do
  want=$(awk -v o="$ops" 'BEGIN { printf "%.17g", 0.00001196 / o * 1e6 }')
  close "$got" "$want" || { all=0; echo "# result $rid: ops/s $ops: view $got, want $want"; }
done < <(sql "$DB" "select c.result_id, r.ops_per_sec, c.machine_usd_per_mop from cost_per_op c join results r on r.id = c.result_id where c.run_id = '$P1'")
check "performance-1x: machine USD per million ops = 0.00001196 / ops_per_sec * 1e6" [ $all = 1 ]
check "performance-1x: 2 results priced" [ "$(sql "$DB" "select count(*) from cost_per_op where run_id='$P1' and machine_usd_per_mop > 0")" = 2 ]
check "same region: egress cost 0, total = machine" \
  [ "$(sql "$DB" "select count(*) from cost_per_op where run_id='$P1' and egress_usd_per_mop = 0 and usd_per_mop = machine_usd_per_mop")" = 2 ]

# Egress: iad is north-america-europe, 0.006 USD/GB private cross-region.
all=1
while IFS='|' read -r rid out req got grp; do
  want=$(awk -v b="$out" -v n="$req" 'BEGIN { printf "%.17g", b / n * 1e6 / 1e9 * 0.006 }')
  [ "$grp" = north-america-europe ] && [ "$out" -gt 0 ] && close "$got" "$want" || { all=0; echo "# result $rid: out $out req $req: view $got, want $want ($grp)"; }
done < <(sql "$DB" "select c.result_id, r.server_net_out_bytes, r.requests, c.egress_usd_per_mop, c.region_group from cost_per_op c join results r on r.id = c.result_id where c.run_id = '$XR'")
check "syd -> iad: egress USD per million ops = out bytes / requests * 1e6 / 1e9 * 0.006" [ $all = 1 ]
check "syd -> iad: total = machine + egress" \
  [ "$(sql "$DB" "select count(*) from cost_per_op where run_id='$XR' and abs(usd_per_mop - machine_usd_per_mop - egress_usd_per_mop) < 1e-15 and egress_usd_per_mop > 0")" = 2 ]
check "preset 'local' has no price: NULL cost" \
  [ "$(sql "$DB" "select count(*) from cost_per_op where run_id='$LOC' and machine_usd_per_mop is null and usd_per_mop is null")" = 2 ]

# A run from before the first price: NULL; one from 2025-12 uses the seeded price.
jedit "$TMP/p1.json" "json_set(d, '\$.run_id', 'cost-old', '\$.started_at', '2025-01-10T10:00:00.000Z', '\$.ended_at', '2025-01-10T10:01:00.000Z')" > "$TMP/old.json"
jedit "$TMP/p1.json" "json_set(d, '\$.run_id', 'cost-dec', '\$.started_at', '2025-12-01T10:00:00.000Z', '\$.ended_at', '2025-12-01T10:01:00.000Z')" > "$TMP/dec.json"
r=$(post "$TMP/old.json"); check "a run dated 2025-01-10 is accepted" [ "${r%% *}" = 201 ]
r=$(post "$TMP/dec.json"); check "a run dated 2025-12-01 is accepted" [ "${r%% *}" = 201 ]
check "a run before the first effective date has no price" \
  [ "$(sql "$DB" "select count(*) from cost_per_op where run_id='cost-old' and usd_per_mop is null")" = 2 ]

# A new price through the API, effective 2026-01-01.
NEWP='{"provider":"fly","preset":"performance-1x","region_group":"any","memory_mb":2048,"usd_per_second":0.00002,"effective_date":"2026-01-01","source":"e2e test"}'
code=$(curl -s -m 10 -o "$TMP/p.body" -w '%{http_code}' -H 'Content-Type: application/json' -d "$NEWP" "$URL/api/v1/prices")
check "POST /api/v1/prices without a token: 401" [ "$code" = 401 ]
bad=$(echo "$NEWP" | sed 's/0.00002/-3/')
code=$(curl -s -m 10 -o "$TMP/p.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" -d "$bad" "$URL/api/v1/prices")
check "negative usd_per_second: 400 naming the field" sh -c "[ $code = 400 ] && grep -q '\"error\":\"usd_per_second: ' '$TMP/p.body'"
bad=$(echo "$NEWP" | sed 's/2026-01-01/2026-02-30/')
code=$(curl -s -m 10 -o "$TMP/p.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" -d "$bad" "$URL/api/v1/prices")
check "impossible effective_date: 400 naming the field" sh -c "[ $code = 400 ] && grep -q 'effective_date: want a date' '$TMP/p.body'"
bad=$(echo "$NEWP" | sed 's/usd_per_second/usd_per_hour/')
code=$(curl -s -m 10 -o "$TMP/p.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" -d "$bad" "$URL/api/v1/prices")
check "unknown and missing fields: 400 listing both" sh -c "[ $code = 400 ] && grep -q '\"usd_per_hour\":\"unknown field\"' '$TMP/p.body' && grep -q '\"usd_per_second\":\"required\"' '$TMP/p.body'"
bad=$(echo "$NEWP" | sed 's/"any"/"mars"/')
code=$(curl -s -m 10 -o "$TMP/p.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" -d "$bad" "$URL/api/v1/prices")
check "unknown region_group: 400 naming the field" sh -c "[ $code = 400 ] && grep -q 'region_group: ' '$TMP/p.body'"
check "bad prices wrote nothing" [ "$(sql "$DB" "select count(*) from machine_prices")" = 31 ]
code=$(curl -s -m 10 -o "$TMP/p.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" -d "$NEWP" "$URL/api/v1/prices")
check "POST /api/v1/prices with the token: 201 created" sh -c "[ $code = 201 ] && grep -q '\"status\":\"created\"' '$TMP/p.body'"
check "GET /api/v1/prices lists the new price" sh -c "curl -sf -m 5 '$URL/api/v1/prices' | grep -q '\"source\":\"e2e test\"'"

all=1
while IFS='|' read -r run ops got; do
  case $run in cost-dec) p=0.00001196 ;; *) p=0.00002 ;; esac
  want=$(awk -v o="$ops" -v p=$p 'BEGIN { printf "%.17g", p / o * 1e6 }')
  close "$got" "$want" || { all=0; echo "# run $run: ops/s $ops: view $got, want $want"; }
done < <(sql "$DB" "select c.run_id, c.ops_per_sec, c.machine_usd_per_mop from cost_per_op c where c.run_id in ('cost-dec', '$P1', '$XR')")
check "the new price applies to runs after 2026-01-01, the old one before" [ $all = 1 ]
check "price_effective_date says which price was used" \
  [ "$(sql "$DB" "select min(price_effective_date)||' '||max(price_effective_date) from cost_per_op where run_id in ('cost-dec','$P1')")" = "2025-08-19 2026-01-01" ]
code=$(curl -s -m 10 -o "$TMP/p.body" -w '%{http_code}' -H "Authorization: Bearer $REDBENCH_TOKEN" -d "$(echo "$NEWP" | sed 's/0.00002/0.000021/')" "$URL/api/v1/prices")
check "the same price key again: 200 updated" sh -c "[ $code = 200 ] && grep -q '\"status\":\"updated\"' '$TMP/p.body' && [ \"\$(sqlite3 '$DB' 'select count(*) from machine_prices')\" = 32 ]"

# The CLI.
"$RB" prices list --db "$DB" > "$TMP/list.out" 2>&1
check "redbench prices list shows the seeded rows" sh -c "grep -Eq '^fly +performance-1x +any +2048 +0.00001196' '$TMP/list.out' && grep -Eq '^fly +performance-16x +any +32768 +0.00019136' '$TMP/list.out' && grep -Eq '^fly +shared-cpu-1x +any +256 +0.00000075' '$TMP/list.out' && grep -Eq '^fly +asia-pacific-oceania-south-america +0.0400 +0.0150' '$TMP/list.out'"
check "redbench prices list --collector agrees with --db" sh -c "'$RB' prices list --collector '$URL' | cmp -s - '$TMP/list.out'"
check "redbench prices add through the collector" sh -c "'$RB' prices add --collector '$URL' --preset performance-2x --memory-mb 4096 --usd-per-second 0.00003 --effective-date 2026-03-01 --source cli | grep -q '^created'"
"$RB" prices add --collector "$URL" --token wrong-token-wrong --preset performance-2x --memory-mb 4096 --usd-per-second 0.00003 --effective-date 2026-03-01 2> "$TMP/add.err"
check "redbench prices add with a wrong token: exit 2, says 401" sh -c "[ $? = 2 ] && grep -q 'answered 401' '$TMP/add.err'"
"$RB" prices add --collector "$URL" --preset performance-2x --memory-mb 4096 --usd-per-second 0.00003 --effective-date 2026-13-01 2> "$TMP/add.err"
check "redbench prices add with a bad date: exit 2 naming the field" sh -c "[ $? = 2 ] && grep -q 'effective_date: ' '$TMP/add.err'"

check "collector stops cleanly on SIGTERM" stop_collector
finish
