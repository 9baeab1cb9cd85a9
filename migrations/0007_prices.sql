-- 0007_prices: machine and egress prices with their effective dates, Fly region
-- groups, and the view cost_per_op: USD per million operations for each result,
-- computed from the prices in effect when its run started (docs/cost.md).
-- Prices are data, not code: add rows (POST /api/v1/prices, `redbench prices add`)
-- with a later effective_date and results of later runs use them.

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

-- Fly.io regions by pricing group (fly.io/docs/about/pricing, data transfer).
INSERT INTO region_groups(region, region_group) VALUES
    ('ams', 'north-america-europe'), ('arn', 'north-america-europe'), ('atl', 'north-america-europe'),
    ('bos', 'north-america-europe'), ('cdg', 'north-america-europe'), ('den', 'north-america-europe'),
    ('dfw', 'north-america-europe'), ('ewr', 'north-america-europe'), ('fra', 'north-america-europe'),
    ('gdl', 'north-america-europe'), ('iad', 'north-america-europe'), ('lax', 'north-america-europe'),
    ('lhr', 'north-america-europe'), ('mad', 'north-america-europe'), ('mia', 'north-america-europe'),
    ('ord', 'north-america-europe'), ('otp', 'north-america-europe'), ('phx', 'north-america-europe'),
    ('qro', 'north-america-europe'), ('sea', 'north-america-europe'), ('sjc', 'north-america-europe'),
    ('waw', 'north-america-europe'), ('yul', 'north-america-europe'), ('yyz', 'north-america-europe'),
    ('bog', 'asia-pacific-oceania-south-america'), ('eze', 'asia-pacific-oceania-south-america'),
    ('gig', 'asia-pacific-oceania-south-america'), ('gru', 'asia-pacific-oceania-south-america'),
    ('hkg', 'asia-pacific-oceania-south-america'), ('nrt', 'asia-pacific-oceania-south-america'),
    ('scl', 'asia-pacific-oceania-south-america'), ('sin', 'asia-pacific-oceania-south-america'),
    ('syd', 'asia-pacific-oceania-south-america'),
    ('bom', 'africa-india'), ('jnb', 'africa-india');

-- ../shared/fly-prices.csv: the iad/ewr baseline, valid for any region here
-- (other regions are ~4-13% higher: add a row with their region_group to be exact).
INSERT INTO machine_prices(provider, preset, region_group, memory_mb, usd_per_second, effective_date, source)
SELECT 'fly', column1, 'any', column2, column3, '2025-08-19',
       'fly.io/docs/about/pricing (captured 2025-08-19; iad/ewr baseline, other regions ~4-13% higher)'
FROM (VALUES
    ('shared-cpu-1x', 256, 0.00000075),
    ('shared-cpu-1x', 512, 0.00000123),
    ('shared-cpu-1x', 1024, 0.00000220),
    ('shared-cpu-1x', 2048, 0.00000413),
    ('shared-cpu-2x', 512, 0.00000150),
    ('shared-cpu-2x', 1024, 0.00000246),
    ('shared-cpu-2x', 2048, 0.00000440),
    ('shared-cpu-2x', 4096, 0.00000826),
    ('shared-cpu-4x', 1024, 0.00000300),
    ('shared-cpu-4x', 2048, 0.00000493),
    ('shared-cpu-4x', 4096, 0.00000879),
    ('shared-cpu-4x', 8192, 0.00001651),
    ('shared-cpu-8x', 2048, 0.00000600),
    ('shared-cpu-8x', 4096, 0.00000986),
    ('shared-cpu-8x', 8192, 0.00001758),
    ('shared-cpu-8x', 16384, 0.00003302),
    ('performance-1x', 2048, 0.00001196),
    ('performance-1x', 4096, 0.00001582),
    ('performance-1x', 8192, 0.00002354),
    ('performance-2x', 4096, 0.00002392),
    ('performance-2x', 8192, 0.00003164),
    ('performance-2x', 16384, 0.00004708),
    ('performance-4x', 8192, 0.00004784),
    ('performance-4x', 16384, 0.00006328),
    ('performance-4x', 32768, 0.00009416),
    ('performance-8x', 16384, 0.00009568),
    ('performance-8x', 32768, 0.00012656),
    ('performance-8x', 65536, 0.00018832),
    ('performance-16x', 32768, 0.00019136),
    ('performance-16x', 65536, 0.00025312),
    ('performance-16x', 131072, 0.00037664));

-- ../shared/fly-egress.csv: outbound transfer by the sending machine's region group; inbound is free.
INSERT INTO egress_prices(provider, region_group, usd_per_gb_internet, usd_per_gb_private_cross_region, effective_date, source)
SELECT 'fly', column1, column2, column3, '2026-08-05', 'fly.io/docs/about/pricing (2026-08-05)'
FROM (VALUES
    ('north-america-europe', 0.02, 0.006),
    ('asia-pacific-oceania-south-america', 0.04, 0.015),
    ('africa-india', 0.12, 0.05));

-- Per result, USD per million operations (1e6 ops):
--   machine_usd_per_mop = usd_per_second / ops_per_sec * 1e6, for the server
--     machine: the price of runs.target_preset in effect on date(started_at)
--     (latest effective_date <= that day; a row for the server's region group
--     beats 'any' on the same date). target_preset 'PRESET' takes the preset's
--     smallest memory size (Fly's default); 'PRESET/MEMORY_MB' names one.
--     No such price (e.g. 'local', or a run before the first price): NULL.
--   egress_usd_per_mop = server_net_out_bytes / requests * 1e6 / 1e9 (GB)
--     * usd_per_gb_private_cross_region of the server's region group, when
--     client_region <> server_region; 0 when they are equal; NULL when the
--     server region has no group, no price was in effect, or there are no
--     server network counters.
--   usd_per_mop = machine + egress (egress counted where known); NULL without a machine price.
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
FROM c;
