#!/bin/bash
# The warehouse: migrations produce exactly schema.sql, run once, in WAL mode.
. "$(dirname "$0")/lib.sh"
ROOT=${RB_ROOT:?}
DB="$TMP/m.db"
check "migrate creates a warehouse" sh -c "'$RB' migrate --db '$DB' > /dev/null"
sqlite3 "$DB" .schema > "$TMP/schema.sql"
if diff -u "$ROOT/schema.sql" "$TMP/schema.sql" > "$TMP/schema.diff"; then
  ok "schema.sql equals what the migrations produce"
else
  notok "schema.sql equals what the migrations produce (run 'make schema')"; sed 's/^/# /' "$TMP/schema.diff"
fi
check "each migration is recorded once" [ "$(sql "$DB" 'select count(*) from schema_migrations')" = "$(ls "$ROOT"/migrations/*.sql | wc -l)" ]
check "migrating again changes nothing" sh -c "'$RB' migrate --db '$DB' > /dev/null && [ \"\$(sqlite3 '$DB' 'select count(*) from schema_migrations')\" = $(ls "$ROOT"/migrations/*.sql | wc -l) ]"
check "the warehouse is in WAL mode" [ "$(sql "$DB" 'pragma journal_mode')" = wal ]
check "migrate on an unwritable path exits 2" sh -c "! '$RB' migrate --db /proc/nope/x.db 2>/dev/null"
finish
