-- 0004_thresholds: per-project analysis settings and SLO limits (the lines of a
-- redbench.thresholds file, docs/analysis.md), and what a verdict explains beyond 0001.

CREATE TABLE thresholds (
    id              INTEGER PRIMARY KEY,        -- lines apply in id order: later wins among equals
    project         TEXT NOT NULL DEFAULT '*',  -- a project, or '*' for every project (applied first)
    selector        TEXT NOT NULL DEFAULT '*',  -- e.g. 'op=get metric=p99_us'; '*' matches everything
    settings        TEXT NOT NULL,              -- e.g. 'threshold=20% rule=mwu', or 'slo p99_us < 5ms'
    note            TEXT NOT NULL DEFAULT '',   -- why, for people
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX thresholds_by_project ON thresholds(project);

ALTER TABLE verdicts ADD COLUMN candidate_samples INTEGER;
ALTER TABLE verdicts ADD COLUMN env_diff TEXT;     -- regressions: JSON [{"field", "baseline", "candidate"}] of what differed
ALTER TABLE verdicts ADD COLUMN slo TEXT;          -- test 'slo': the limit, e.g. 'p99_us < 5000' (µs, ops/s, errors)

-- The baseline leaves out results with an untriaged regression verdict: a
-- small index of just those keeps that check cheap for every baseline result.
CREATE INDEX verdicts_untriaged_regressions ON verdicts(result_id)
    WHERE status = 'regression' AND triage IS NULL;

-- Baselines read, run by run, the series keys of the usable results.
CREATE INDEX results_usable_by_run ON results(run_id, series_key) WHERE status IN ('ok', 'partial');
