-- 0003_change_points: where each series shifted, per metric (analyzer/changepoint.c,
-- docs/changepoints.md). Rebuilt per series on ingest from its last 500 runs on a branch.

CREATE TABLE change_points (
    id              INTEGER PRIMARY KEY,
    project         TEXT NOT NULL,
    branch          TEXT NOT NULL,
    series_key      TEXT NOT NULL,
    metric          TEXT NOT NULL,              -- ops_per_sec, p50_us, p99_us (run means of the samples)
    run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, -- first run of the new segment
    commit_sha      TEXT NOT NULL DEFAULT '',   -- that run's commit
    started_at      TEXT NOT NULL,              -- that run's start, RFC 3339 UTC
    mean_before     REAL,                       -- mean of the run means since the previous change point
    mean_after      REAL,                       -- ... up to the next change point
    change          REAL,                       -- mean_after / mean_before - 1 (-0.12 = 12% lower)
    p_value         REAL,                       -- two-sided Student's t of the two segments, x the splits tried
    runs_before     INTEGER NOT NULL,
    runs_after      INTEGER NOT NULL,
    detected_at     TEXT NOT NULL,              -- first time this change point was found
    UNIQUE (project, branch, series_key, metric, run_id)
);
CREATE INDEX change_points_by_run ON change_points(run_id);
