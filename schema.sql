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
, status TEXT NOT NULL DEFAULT 'complete', n_results INTEGER NOT NULL DEFAULT 0, verdict_status TEXT NOT NULL DEFAULT 'pending'
    CHECK (verdict_status IN ('pending', 'pass', 'regression', 'improvement', 'insufficient_baseline')), n_regressions INTEGER NOT NULL DEFAULT 0, n_improvements INTEGER NOT NULL DEFAULT 0, n_insufficient INTEGER NOT NULL DEFAULT 0, analyzed_at TEXT);
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
, candidate_samples INTEGER, env_diff TEXT, slo TEXT, triaged_at TEXT, triaged_by TEXT NOT NULL DEFAULT '', triage_note TEXT NOT NULL DEFAULT '');
CREATE INDEX verdicts_by_run ON verdicts(run_id);
CREATE INDEX verdicts_by_result ON verdicts(result_id);
CREATE TABLE result_metrics (
    result_id       INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,              -- e.g. delivery_rate, lost, knee_concurrency
    value           REAL NOT NULL,
    PRIMARY KEY (result_id, name)
) WITHOUT ROWID;
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
CREATE TABLE thresholds (
    id              INTEGER PRIMARY KEY,        -- lines apply in id order: later wins among equals
    project         TEXT NOT NULL DEFAULT '*',  -- a project, or '*' for every project (applied first)
    selector        TEXT NOT NULL DEFAULT '*',  -- e.g. 'op=get metric=p99_us'; '*' matches everything
    settings        TEXT NOT NULL,              -- e.g. 'threshold=20% rule=mwu', or 'slo p99_us < 5ms'
    note            TEXT NOT NULL DEFAULT '',   -- why, for people
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX thresholds_by_project ON thresholds(project);
CREATE INDEX verdicts_untriaged_regressions ON verdicts(result_id)
    WHERE status = 'regression' AND triage IS NULL;
CREATE INDEX results_usable_by_run ON results(run_id, series_key) WHERE status IN ('ok', 'partial');
CREATE VIEW noisy_series AS
SELECT series_key,
       count(DISTINCT result_id) AS flagged,
       count(DISTINCT CASE WHEN triage = 'false_positive' THEN result_id END) AS false_positives,
       count(DISTINCT CASE WHEN triage = 'accepted' THEN result_id END) AS accepted,
       max(CASE WHEN triage = 'false_positive' THEN triaged_at END) AS last_false_positive_at
FROM verdicts
WHERE status IN ('regression', 'improvement')
GROUP BY series_key
/* noisy_series(series_key,flagged,false_positives,accepted,last_false_positive_at) */;
CREATE VIEW results_full AS
SELECT r.id AS result_id, r.run_id, u.project, u.branch, u.commit_sha, u.started_at,
       u.mode, u.client_region, u.server_region, u.target_preset AS preset,
       r.series_key, r.scenario, r.op, r.data_type, r.concurrency, r.pipeline,
       r.value_size, r.dataset_size, r.params, r.status, r.error,
       r.requests, r.errors, r.ops_per_sec,
       r.p50_us, r.p90_us, r.p95_us, r.p99_us, r.p999_us, r.max_us, r.mean_us,
       r.server_cpu_user_s, r.server_cpu_sys_s,
       CASE WHEN r.requests > 0 AND r.server_cpu_user_s IS NOT NULL
            THEN (r.server_cpu_user_s + coalesce(r.server_cpu_sys_s, 0)) * 1e6 / r.requests
       END AS server_cpu_us_per_op,
       r.server_net_in_bytes, r.server_net_out_bytes, r.server_used_memory,
       r.server_keyspace_hits, r.server_keyspace_misses
FROM results r JOIN runs u ON u.id = r.run_id
/* results_full(result_id,run_id,project,branch,commit_sha,started_at,mode,client_region,server_region,preset,series_key,scenario,op,data_type,concurrency,pipeline,value_size,dataset_size,params,status,error,requests,errors,ops_per_sec,p50_us,p90_us,p95_us,p99_us,p999_us,max_us,mean_us,server_cpu_user_s,server_cpu_sys_s,server_cpu_us_per_op,server_net_in_bytes,server_net_out_bytes,server_used_memory,server_keyspace_hits,server_keyspace_misses) */;
CREATE VIEW series AS
SELECT series_key, scenario, op, data_type, mode, client_region, server_region, preset,
       concurrency, pipeline, value_size, dataset_size, params,
       runs, first_seen, last_seen, last_run_id, last_branch, last_ops_per_sec, last_p99_us
FROM (SELECT f.series_key, f.scenario, f.op, f.data_type, f.mode, f.client_region,
             f.server_region, f.preset, f.concurrency, f.pipeline, f.value_size,
             f.dataset_size, f.params,
             count(*) OVER w AS runs,
             min(f.started_at) OVER w AS first_seen,
             max(f.started_at) OVER w AS last_seen,
             f.run_id AS last_run_id, f.branch AS last_branch,
             f.ops_per_sec AS last_ops_per_sec, f.p99_us AS last_p99_us,
             row_number() OVER (PARTITION BY f.series_key
                                ORDER BY f.started_at DESC, f.result_id DESC) AS rn
      FROM results_full f
      WINDOW w AS (PARTITION BY f.series_key))
WHERE rn = 1
/* series(series_key,scenario,op,data_type,mode,client_region,server_region,preset,concurrency,pipeline,value_size,dataset_size,params,runs,first_seen,last_seen,last_run_id,last_branch,last_ops_per_sec,last_p99_us) */;
CREATE VIEW result_latest AS
SELECT * FROM (SELECT f.*,
                      row_number() OVER (PARTITION BY f.series_key, f.branch
                                         ORDER BY f.started_at DESC, f.result_id DESC) AS rn
               FROM results_full f)
WHERE rn = 1
/* result_latest(result_id,run_id,project,branch,commit_sha,started_at,mode,client_region,server_region,preset,series_key,scenario,op,data_type,concurrency,pipeline,value_size,dataset_size,params,status,error,requests,errors,ops_per_sec,p50_us,p90_us,p95_us,p99_us,p999_us,max_us,mean_us,server_cpu_user_s,server_cpu_sys_s,server_cpu_us_per_op,server_net_in_bytes,server_net_out_bytes,server_used_memory,server_keyspace_hits,server_keyspace_misses,rn) */;
CREATE VIEW run_summary AS
SELECT u.id, u.project, u.branch, u.commit_sha, u.mode, u.started_at, u.ended_at,
       u.status,
       (SELECT count(*) FROM results r WHERE r.run_id = u.id) AS results,
       (SELECT count(*) FROM results r WHERE r.run_id = u.id AND r.status <> 'ok') AS failed_results,
       (SELECT coalesce(sum(r.errors), 0) FROM results r WHERE r.run_id = u.id) AS errors,
       (SELECT count(DISTINCT v.result_id) FROM verdicts v
         WHERE v.run_id = u.id AND v.status = 'regression') AS regressions,
       (SELECT count(DISTINCT v.result_id) FROM verdicts v
         WHERE v.run_id = u.id AND v.status = 'improvement') AS improvements,
       CASE WHEN EXISTS (SELECT 1 FROM verdicts v
                         WHERE v.run_id = u.id AND v.status = 'regression')
            THEN 'regression' ELSE 'pass' END AS verdict
FROM runs u
/* run_summary(id,project,branch,commit_sha,mode,started_at,ended_at,status,results,failed_results,errors,regressions,improvements,verdict) */;
CREATE VIEW verdicts_open AS
SELECT v.id AS verdict_id, v.run_id, u.branch, u.commit_sha, u.started_at,
       v.series_key, v.metric, v.change, v.p_value, v.ci_low, v.ci_high,
       v.baseline_mean, v.candidate_mean, v.baseline_branch, v.baseline_runs, v.created_at
FROM verdicts v JOIN runs u ON u.id = v.run_id
WHERE v.status = 'regression' AND v.triage IS NULL
/* verdicts_open(verdict_id,run_id,branch,commit_sha,started_at,series_key,metric,change,p_value,ci_low,ci_high,baseline_mean,candidate_mean,baseline_branch,baseline_runs,created_at) */;
CREATE VIEW samples_full AS
SELECT f.result_id, f.run_id, f.branch, f.commit_sha, f.started_at, f.series_key,
       f.scenario, f.op, s.iteration, s.ops_per_sec, s.requests, s.errors, s.seconds,
       s.p50_us, s.p99_us
FROM samples s JOIN results_full f ON f.result_id = s.result_id
/* samples_full(result_id,run_id,branch,commit_sha,started_at,series_key,scenario,op,iteration,ops_per_sec,requests,errors,seconds,p50_us,p99_us) */;
CREATE VIEW metrics_full AS
SELECT f.result_id, f.run_id, f.branch, f.commit_sha, f.started_at, f.series_key,
       f.scenario, f.op, m.name, m.value
FROM result_metrics m JOIN results_full f ON f.result_id = m.result_id
/* metrics_full(result_id,run_id,branch,commit_sha,started_at,series_key,scenario,op,name,value) */;
CREATE TABLE region_groups (
    region          TEXT PRIMARY KEY,           -- provider region code, e.g. iad
    region_group    TEXT NOT NULL,              -- pricing group, e.g. north-america-europe
    provider        TEXT NOT NULL DEFAULT 'fly'
);
CREATE TABLE machine_prices (
    id              INTEGER PRIMARY KEY,
    provider        TEXT NOT NULL,              -- e.g. fly
    preset          TEXT NOT NULL,              -- matched against runs.target_preset
    region_group    TEXT NOT NULL DEFAULT 'any', -- 'any', or a group of region_groups (wins over 'any' on the same date)
    memory_mb       INTEGER NOT NULL CHECK (memory_mb > 0),
    usd_per_second  REAL NOT NULL CHECK (usd_per_second > 0),
    effective_date  TEXT NOT NULL CHECK (date(effective_date) = effective_date), -- YYYY-MM-DD, UTC
    source          TEXT NOT NULL DEFAULT '',   -- where the figure comes from, and when it was read
    UNIQUE (provider, preset, region_group, memory_mb, effective_date)
);
CREATE INDEX machine_prices_by_preset ON machine_prices(preset, effective_date);
CREATE TABLE egress_prices (
    id              INTEGER PRIMARY KEY,
    provider        TEXT NOT NULL,
    region_group    TEXT NOT NULL,              -- of the sending (server) machine
    usd_per_gb_internet REAL NOT NULL CHECK (usd_per_gb_internet >= 0),
    usd_per_gb_private_cross_region REAL NOT NULL CHECK (usd_per_gb_private_cross_region >= 0),
    effective_date  TEXT NOT NULL CHECK (date(effective_date) = effective_date),
    source          TEXT NOT NULL DEFAULT '',
    UNIQUE (provider, region_group, effective_date)
);
CREATE VIEW cost_per_op AS
WITH r AS (
    SELECT x.id AS result_id, x.run_id, x.series_key, x.op, x.ops_per_sec, x.requests,
           x.server_net_out_bytes, u.started_at, u.target_preset, u.client_region, u.server_region,
           CASE WHEN instr(u.target_preset, '/') > 0
                THEN substr(u.target_preset, 1, instr(u.target_preset, '/') - 1)
                ELSE u.target_preset END AS preset,
           CASE WHEN instr(u.target_preset, '/') > 0
                THEN CAST(substr(u.target_preset, instr(u.target_preset, '/') + 1) AS INTEGER) END AS memory_mb,
           (SELECT g.region_group FROM region_groups g WHERE g.region = u.server_region) AS server_group
    FROM results x JOIN runs u ON u.id = x.run_id
), p AS (
    SELECT r.*,
           (SELECT m.id FROM machine_prices m
             WHERE m.preset = r.preset AND (r.memory_mb IS NULL OR m.memory_mb = r.memory_mb)
               AND (m.region_group = 'any' OR m.region_group = r.server_group)
               AND m.effective_date <= date(r.started_at)
             ORDER BY m.memory_mb, m.effective_date DESC, m.region_group = 'any'
             LIMIT 1) AS price_id,
           (SELECT e.usd_per_gb_private_cross_region FROM egress_prices e JOIN region_groups g
                ON g.region = r.server_region AND g.provider = e.provider
             WHERE e.region_group = r.server_group AND e.effective_date <= date(r.started_at)
             ORDER BY e.effective_date DESC LIMIT 1) AS egress_usd_per_gb
    FROM r
), c AS (
    SELECT p.*, m.provider, m.memory_mb AS price_memory_mb, m.usd_per_second,
           m.effective_date AS price_effective_date,
           m.usd_per_second / p.ops_per_sec * 1e6 AS machine_usd_per_mop,
           CASE WHEN p.client_region = p.server_region THEN 0.0
                ELSE p.server_net_out_bytes * 1.0 / p.requests * 1e6 / 1e9 * p.egress_usd_per_gb
           END AS egress_usd_per_mop
    FROM p LEFT JOIN machine_prices m ON m.id = p.price_id
)
SELECT result_id, run_id, series_key, op, started_at, target_preset, client_region, server_region,
       server_group AS region_group, ops_per_sec, provider, price_memory_mb AS memory_mb,
       usd_per_second, price_effective_date, machine_usd_per_mop, egress_usd_per_gb,
       egress_usd_per_mop, machine_usd_per_mop + coalesce(egress_usd_per_mop, 0) AS usd_per_mop
FROM c
/* cost_per_op(result_id,run_id,series_key,op,started_at,target_preset,client_region,server_region,region_group,ops_per_sec,provider,memory_mb,usd_per_second,price_effective_date,machine_usd_per_mop,egress_usd_per_gb,egress_usd_per_mop,usd_per_mop) */;
CREATE TABLE schedules (
    id                  INTEGER PRIMARY KEY,
    cron                TEXT NOT NULL,              -- five fields, UTC
    plan                TEXT NOT NULL,              -- JSON plan, as for POST /benchmark/start
    enabled             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    next_due_ms         INTEGER,                    -- NULL: never (disabled or no match)
    last_benchmark_id   TEXT,
    missed              INTEGER NOT NULL DEFAULT 0  -- due times whose previous benchmark had not completed
);
CREATE TABLE schedule_misses (
    id                  INTEGER PRIMARY KEY,
    schedule_id         INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    due_at              TEXT NOT NULL,
    benchmark_id        TEXT,                       -- the benchmark that had not completed
    reason              TEXT NOT NULL
);
CREATE INDEX schedule_misses_by_schedule ON schedule_misses(schedule_id, id);
CREATE TABLE benchmarks (
    id                  TEXT PRIMARY KEY,
    plan                TEXT NOT NULL,              -- JSON plan as accepted (normalized)
    status              TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'complete', 'failed')),
    workers             INTEGER NOT NULL,
    share               TEXT NOT NULL CHECK (share IN ('split', 'each')),
    start_at_ms         INTEGER NOT NULL,           -- common start time of the workers' load
    lease_ms            INTEGER NOT NULL,           -- a lease lapses this long after the last heartbeat
    max_attempts        INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    started_at          TEXT,                       -- first lease
    finished_at         TEXT,
    run_id              TEXT,                       -- the merged run (runs.id)
    schedule_id         INTEGER REFERENCES schedules(id) ON DELETE SET NULL,
    error               TEXT
);
CREATE INDEX benchmarks_by_status ON benchmarks(status, created_at);
CREATE TABLE tasks (
    id                  INTEGER PRIMARY KEY,
    benchmark_id        TEXT NOT NULL REFERENCES benchmarks(id) ON DELETE CASCADE,
    idx                 INTEGER NOT NULL,           -- the worker's share, 0-based
    status              TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'leased', 'done', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0, -- leases handed out
    lease_owner         TEXT,
    lease_expires_ms    INTEGER,
    heartbeat_ms        INTEGER,
    finished_at         TEXT,
    result              TEXT,                       -- the worker's run JSON (canonical)
    error               TEXT,
    UNIQUE (benchmark_id, idx)
);
CREATE INDEX tasks_by_status ON tasks(status, id);
CREATE TABLE workers (
    name                TEXT PRIMARY KEY,
    last_seen_ms        INTEGER NOT NULL,
    tasks_done          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL CHECK (role IN ('read', 'ingest', 'query', 'admin')),
    token_sha256    TEXT NOT NULL UNIQUE,       -- hex
    created_at      TEXT NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX runs_pending ON runs(analyzed_at) WHERE analyzed_at IS NULL;
CREATE INDEX runs_list ON runs(started_at, id, project, branch, commit_sha, mode, target_kind,
    target_version, n_results, n_regressions, n_improvements, n_insufficient, verdict_status, analyzed_at);
CREATE INDEX runs_by_deployment ON runs(project, branch, mode, client_region, server_region, target_preset,
    started_at, id);
CREATE INDEX runs_by_ingest ON runs(ingested_at);
