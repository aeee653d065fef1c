-- LegalOps records schema, version 1, SQLite dialect.
-- Keep in step with ../postgres/0001_init.sql: same version, same tables and columns.
-- Instants are stored as whole Unix seconds (minute) or RFC 3339 text (updated_at).

CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- labels: the canonical JSON text of the sorted label pairs, so a series has one identity.
CREATE TABLE metric_rollups (
    name   TEXT    NOT NULL,
    labels TEXT    NOT NULL,
    minute INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    sum    REAL    NOT NULL,
    min    REAL,
    max    REAL,
    PRIMARY KEY (name, labels, minute)
);

-- Pruning deletes by age across every series.
CREATE INDEX metric_rollups_minute ON metric_rollups (minute);
