-- LegalOps records schema, version 1, PostgreSQL dialect.
-- Keep in step with ../sqlite/0001_init.sql: same version, same tables and columns.
-- Unqualified names: the tables go in the connection's search_path schema.

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- labels: the canonical JSON text of the sorted label pairs, so a series has one identity.
-- minute: whole Unix seconds, as in SQLite, so the queries are the same in both dialects.
CREATE TABLE metric_rollups (
    name   TEXT             NOT NULL,
    labels TEXT             NOT NULL,
    minute BIGINT           NOT NULL,
    count  BIGINT           NOT NULL,
    sum    DOUBLE PRECISION NOT NULL,
    min    DOUBLE PRECISION,
    max    DOUBLE PRECISION,
    PRIMARY KEY (name, labels, minute)
);

-- Pruning deletes by age across every series.
CREATE INDEX metric_rollups_minute ON metric_rollups (minute);
