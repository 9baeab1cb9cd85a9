-- 0010_run_summary: a run's verdict summary on its row, so lists need no
-- counting, and analysis after the ingest commit (docs/warehouse.md): a run is
-- stored with verdict_status 'pending' and analyzed_at NULL; the collector's
-- analysis thread fills in the counts and the status, then analyzed_at.
-- n_regressions, n_improvements, n_insufficient count verdict rows (one per
-- judged result and metric, plus SLO checks) with that status.

ALTER TABLE runs ADD COLUMN n_results INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN verdict_status TEXT NOT NULL DEFAULT 'pending'
    CHECK (verdict_status IN ('pending', 'pass', 'regression', 'improvement', 'insufficient_baseline'));
ALTER TABLE runs ADD COLUMN n_regressions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN n_improvements INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN n_insufficient INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN analyzed_at TEXT;   -- NULL while pending

-- Runs stored before this migration were judged on ingest: backfill from their verdicts.
UPDATE runs SET
    n_results = (SELECT count(*) FROM results x WHERE x.run_id = runs.id),
    n_regressions = (SELECT count(*) FROM verdicts v WHERE v.run_id = runs.id AND v.status = 'regression'),
    n_improvements = (SELECT count(*) FROM verdicts v WHERE v.run_id = runs.id AND v.status = 'improvement'),
    n_insufficient = (SELECT count(*) FROM verdicts v WHERE v.run_id = runs.id AND v.status = 'insufficient_baseline'),
    analyzed_at = ingested_at;
UPDATE runs SET verdict_status = CASE
    WHEN n_regressions > 0 THEN 'regression'
    WHEN n_improvements > 0 THEN 'improvement'
    WHEN n_insufficient > 0 AND n_insufficient = (SELECT count(*) FROM verdicts v WHERE v.run_id = runs.id)
        THEN 'insufficient_baseline'
    ELSE 'pass' END;

-- The analysis queue: pending runs in commit (rowid) order.
CREATE INDEX runs_pending ON runs(analyzed_at) WHERE analyzed_at IS NULL;

-- The runs list (GET /api/v1/runs, the overview page) from this index alone:
-- the new columns sit after the large `document` in each row, so reading them
-- from the table would walk the document's overflow pages of every listed run.
CREATE INDEX runs_list ON runs(started_at, id, project, branch, commit_sha, mode, target_kind,
    target_version, n_results, n_regressions, n_improvements, n_insufficient, verdict_status, analyzed_at);
