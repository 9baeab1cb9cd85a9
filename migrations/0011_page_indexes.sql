-- 0011_page_indexes: the /modes and /cost pages find the latest run of each
-- deployment (mode, client region, server region, machine preset) of a branch
-- with one index seek per deployment (lib/modes.c modes_latest_runs) instead
-- of reading the branch's latest 1000 runs.
CREATE INDEX runs_by_deployment ON runs(project, branch, mode, client_region, server_region, target_preset,
    started_at, id);

-- The overview's last ingest (max(ingested_at)): the column sits after the large
-- `document` in each row, so reading it from the table walks overflow pages.
CREATE INDEX runs_by_ingest ON runs(ingested_at);
