CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
CREATE TABLE runs (
    id              TEXT PRIMARY KEY,           -- made by the runner; the idempotency key
    project         TEXT NOT NULL,
    branch          TEXT NOT NULL,
    commit_sha      TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL,              -- single, client-server, multi-region, orchestrated, cluster
    client_region   TEXT NOT NULL DEFAULT 'local',
    server_region   TEXT NOT NULL DEFAULT 'local',
    started_at      TEXT NOT NULL,              -- RFC 3339 UTC
    ended_at        TEXT NOT NULL,
    target_kind     TEXT NOT NULL DEFAULT '',
    target_version  TEXT NOT NULL DEFAULT '',
    target_address  TEXT NOT NULL DEFAULT '',
    target_preset   TEXT NOT NULL DEFAULT 'local',
    target_config   TEXT NOT NULL DEFAULT '{}', -- JSON object: the config audit
    runner_version  TEXT NOT NULL DEFAULT '',
    runner_host     TEXT NOT NULL DEFAULT '',
    commands        TEXT NOT NULL DEFAULT '{}', -- JSON object: commands sent, by name
    document        TEXT NOT NULL,              -- the run as ingested (canonical JSON)
    ingested_at     TEXT NOT NULL
, status TEXT NOT NULL DEFAULT 'complete');
CREATE INDEX runs_by_branch ON runs(project, branch, started_at);
CREATE INDEX runs_by_time ON runs(started_at);
CREATE TABLE results (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    series_key      TEXT NOT NULL,              -- see docs/result-format.md
    scenario        TEXT NOT NULL,
    op              TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    concurrency     INTEGER NOT NULL,
    pipeline        INTEGER NOT NULL,
    value_size      INTEGER NOT NULL,           -- bytes
    dataset_size    INTEGER NOT NULL,           -- keys
    requests        INTEGER NOT NULL,           -- measured requests, all iterations
    errors          INTEGER NOT NULL,
    ops_per_sec     REAL NOT NULL,              -- mean of the iterations
    p50_us          REAL NOT NULL,
    p90_us          REAL NOT NULL,
    p95_us          REAL NOT NULL,
    p99_us          REAL NOT NULL,
    p999_us         REAL NOT NULL,
    max_us          REAL NOT NULL,
    mean_us         REAL NOT NULL,
    latency_hist    TEXT NOT NULL,              -- hist_encode() of the merged histogram (ns)
    server_cpu_user_s      REAL,
    server_cpu_sys_s       REAL,
    server_net_in_bytes    INTEGER,
    server_net_out_bytes   INTEGER,
    server_used_memory     INTEGER,
    server_used_memory_peak INTEGER,
    server_evictions       INTEGER,
    server_keys            INTEGER, status TEXT NOT NULL DEFAULT 'ok', error TEXT NOT NULL DEFAULT '', params TEXT NOT NULL DEFAULT '{}', server_keyspace_hits INTEGER, server_keyspace_misses INTEGER,
    UNIQUE (run_id, series_key)
);
CREATE INDEX results_by_series ON results(series_key);
CREATE TABLE samples (
    result_id       INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    iteration       INTEGER NOT NULL,           -- 0-based
    ops_per_sec     REAL NOT NULL,
    requests        INTEGER NOT NULL,
    errors          INTEGER NOT NULL,
    seconds         REAL NOT NULL,
    p50_us          REAL NOT NULL,
    p99_us          REAL NOT NULL,
    PRIMARY KEY (result_id, iteration)
) WITHOUT ROWID;
CREATE TABLE verdicts (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    result_id       INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    series_key      TEXT NOT NULL,
    metric          TEXT NOT NULL,              -- ops_per_sec, p50_us, p99_us
    status          TEXT NOT NULL CHECK (status IN ('pass', 'regression', 'improvement', 'insufficient_baseline')),
    test            TEXT NOT NULL,              -- e.g. 'welch+threshold'
    p_value         REAL,
    change          REAL,                       -- relative change of the mean, candidate vs baseline (-0.12 = 12% lower)
    ci_low          REAL,                       -- 95% CI of the relative change
    ci_high         REAL,
    baseline_mean   REAL,
    candidate_mean  REAL,
    baseline_runs   INTEGER NOT NULL,
    baseline_samples INTEGER NOT NULL,
    threshold       REAL NOT NULL,              -- practical threshold, relative (0.10 = 10%)
    alpha           REAL NOT NULL,
    baseline_branch TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    triage          TEXT CHECK (triage IN ('accepted', 'false_positive'))
);
CREATE INDEX verdicts_by_run ON verdicts(run_id);
CREATE INDEX verdicts_by_result ON verdicts(result_id);
CREATE TABLE result_metrics (
    result_id       INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,              -- e.g. delivery_rate, lost, knee_concurrency
    value           REAL NOT NULL,
    PRIMARY KEY (result_id, name)
) WITHOUT ROWID;
