-- 0002_result_status_metrics: run and result status, extra series parameters,
-- scenario-specific metrics, keyspace hits/misses.

ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'complete';   -- complete, partial, failed

ALTER TABLE results ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';      -- ok, partial, failed, unsupported
ALTER TABLE results ADD COLUMN error TEXT NOT NULL DEFAULT '';
ALTER TABLE results ADD COLUMN params TEXT NOT NULL DEFAULT '{}';      -- JSON object: extra series parameters
ALTER TABLE results ADD COLUMN server_keyspace_hits INTEGER;
ALTER TABLE results ADD COLUMN server_keyspace_misses INTEGER;

CREATE TABLE result_metrics (
    result_id       INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,              -- e.g. delivery_rate, lost, knee_concurrency
    value           REAL NOT NULL,
    PRIMARY KEY (result_id, name)
) WITHOUT ROWID;
