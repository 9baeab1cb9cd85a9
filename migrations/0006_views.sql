-- 0006_views: plain-named views for ad-hoc SQL (sqlite3 shell, `redbench query`,
-- POST /api/v1/query). Documented with example queries in docs/queries.md.
-- Times are RFC 3339 UTC text (they sort as text); latencies in µs; ops/s.

-- Every result with the context of its run: branch, commit, start, mode,
-- regions, preset, and the server CPU it cost per operation.
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
FROM results r JOIN runs u ON u.id = r.run_id;

-- One row per series: its parameters, how many runs measured it, when, and
-- the latest run's throughput and p99 (any branch).
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
WHERE rn = 1;

-- The latest result of every series on every branch.
CREATE VIEW result_latest AS
SELECT * FROM (SELECT f.*,
                      row_number() OVER (PARTITION BY f.series_key, f.branch
                                         ORDER BY f.started_at DESC, f.result_id DESC) AS rn
               FROM results_full f)
WHERE rn = 1;

-- One row per run: what it measured and how it was judged. Counts of
-- regressions/improvements are of results (cells), not of metric verdicts.
-- verdict: 'regression' if any result regressed, else 'pass'.
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
FROM runs u;

-- Regressions nobody has triaged yet (accepted or marked a false positive).
CREATE VIEW verdicts_open AS
SELECT v.id AS verdict_id, v.run_id, u.branch, u.commit_sha, u.started_at,
       v.series_key, v.metric, v.change, v.p_value, v.ci_low, v.ci_high,
       v.baseline_mean, v.candidate_mean, v.baseline_branch, v.baseline_runs, v.created_at
FROM verdicts v JOIN runs u ON u.id = v.run_id
WHERE v.status = 'regression' AND v.triage IS NULL;

-- Per-iteration samples with their series and run.
CREATE VIEW samples_full AS
SELECT f.result_id, f.run_id, f.branch, f.commit_sha, f.started_at, f.series_key,
       f.scenario, f.op, s.iteration, s.ops_per_sec, s.requests, s.errors, s.seconds,
       s.p50_us, s.p99_us
FROM samples s JOIN results_full f ON f.result_id = s.result_id;

-- Scenario-specific metrics (delivery_rate, lost, knee_concurrency, ...) with
-- their series and run.
CREATE VIEW metrics_full AS
SELECT f.result_id, f.run_id, f.branch, f.commit_sha, f.started_at, f.series_key,
       f.scenario, f.op, m.name, m.value
FROM result_metrics m JOIN results_full f ON f.result_id = m.result_id;
