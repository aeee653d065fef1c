-- LegalOps records schema, version 3, SQLite dialect: alerting state, leases and the
-- built-in incident tracker. Keep in step with ../postgres/0003_alerting_incidents.sql:
-- same tables and columns. Instants are integer microseconds since the Unix epoch (UTC);
-- JSON columns hold the text as written.

-- One row per configured rule: what a restart needs to keep pending progress and firing
-- alerts. value is NULL for "no data" (and for NaN, which SQLite cannot store).
CREATE TABLE rule_states (
    rule         TEXT PRIMARY KEY NOT NULL,
    state        TEXT    NOT NULL,
    active_since INTEGER,
    firing_since INTEGER,
    last_true_at INTEGER,
    resolved_at  INTEGER,
    evaluated_at INTEGER NOT NULL,
    value        REAL,
    labels       TEXT    NOT NULL,
    annotations  TEXT    NOT NULL
);

-- matchers: a JSON array of {name, op, value}.
CREATE TABLE silences (
    id         TEXT PRIMARY KEY NOT NULL,
    matchers   TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    comment    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Notification state per alert group, so a restart neither re-sends early nor forgets a
-- resolution.
CREATE TABLE alert_groups (
    group_key          TEXT PRIMARY KEY NOT NULL,
    first_seen_at      INTEGER NOT NULL,
    last_notified_at   INTEGER,
    last_notified_hash TEXT    NOT NULL
);

-- AUTOINCREMENT: a delivery id is never reused, even after the newest is deleted.
CREATE TABLE deliveries (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    group_key TEXT    NOT NULL,
    channel   TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    alerts    INTEGER NOT NULL,
    attempts  INTEGER NOT NULL,
    ok        BOOLEAN NOT NULL,
    error     TEXT
);

CREATE INDEX deliveries_at ON deliveries (at);

-- One row per named lease; taken by a conditional upsert, so one statement decides.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

-- num: the creation order (ids are INC-<num>), and the tie-breaker of every listing.
-- source, component and details are the first trigger's, kept for the postmortem.
CREATE TABLE incidents (
    id              TEXT PRIMARY KEY NOT NULL,
    num             INTEGER NOT NULL UNIQUE,
    dedup_key       TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    opened_at       INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    trigger_count   INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    component       TEXT,
    details         TEXT    NOT NULL
);

CREATE INDEX incidents_dedup_status ON incidents (dedup_key, status);
CREATE INDEX incidents_opened ON incidents (opened_at);
-- At most one open incident per dedup key, whatever a writer does: the schema holds the
-- PagerDuty rule even should two triggers ever race past the writers' lock.
CREATE UNIQUE INDEX incidents_open_dedup ON incidents (dedup_key)
    WHERE status IN ('triggered', 'acknowledged', 'investigating');

CREATE TABLE incident_timeline (
    incident_id TEXT    NOT NULL REFERENCES incidents (id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
