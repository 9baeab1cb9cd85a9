-- 0008_orchestrator: orchestrated benchmarks split into tasks that workers
-- lease, the workers seen, and cron schedules that create benchmarks.
-- Times named *_ms are Unix milliseconds (lease arithmetic); *_at are RFC 3339 UTC.

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
