-- 0009_tokens: API tokens with roles, stored hashed (SHA-256 of the token);
-- the token itself is shown once, at creation, and never stored or logged.

CREATE TABLE tokens (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL CHECK (role IN ('read', 'ingest', 'query', 'admin')),
    token_sha256    TEXT NOT NULL UNIQUE,       -- hex
    created_at      TEXT NOT NULL,
    revoked_at      TEXT
);
