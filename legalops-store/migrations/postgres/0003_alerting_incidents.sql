-- LegalOps records schema, version 3, PostgreSQL dialect: alerting state, leases and the
-- built-in incident tracker. Keep in step with ../sqlite/0003_alerting_incidents.sql: same
-- tables and columns. Instants are BIGINT microseconds since the Unix epoch (UTC), as in
-- SQLite, so the queries are the same in both dialects; JSON columns are TEXT holding the
-- text as written (jsonb would reorder keys and renormalise numbers).

-- One row per configured rule: what a restart needs to keep pending progress and firing
-- alerts. value is NULL for "no data" (and for NaN, stored as SQLite must).
CREATE TABLE rule_states (
    rule         TEXT PRIMARY KEY,
    state        TEXT   NOT NULL,
    active_since BIGINT,
    firing_since BIGINT,
    last_true_at BIGINT,
    resolved_at  BIGINT,
    evaluated_at BIGINT NOT NULL,
    value        DOUBLE PRECISION,
    labels       TEXT   NOT NULL,
    annotations  TEXT   NOT NULL
);

-- matchers: a JSON array of {name, op, value}.
CREATE TABLE silences (
    id         TEXT PRIMARY KEY,
    matchers   TEXT   NOT NULL,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    comment    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- Notification state per alert group, so a restart neither re-sends early nor forgets a
-- resolution.
CREATE TABLE alert_groups (
    group_key          TEXT PRIMARY KEY,
    first_seen_at      BIGINT NOT NULL,
    last_notified_at   BIGINT,
    last_notified_hash TEXT   NOT NULL
);

CREATE TABLE deliveries (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT  NOT NULL,
    group_key TEXT    NOT NULL,
    channel   TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    alerts    BIGINT  NOT NULL,
    attempts  BIGINT  NOT NULL,
    ok        BOOLEAN NOT NULL,
    error     TEXT
);

CREATE INDEX deliveries_at ON deliveries (at);

-- One row per named lease; taken by a conditional upsert, so one statement decides.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- num: the creation order (ids are INC-<num>), and the tie-breaker of every listing.
-- source, component and details are the first trigger's, kept for the postmortem.
CREATE TABLE incidents (
    id              TEXT PRIMARY KEY,
    num             BIGINT NOT NULL UNIQUE,
    dedup_key       TEXT   NOT NULL,
    summary         TEXT   NOT NULL,
    severity        TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    opened_at       BIGINT NOT NULL,
    acknowledged_at BIGINT,
    resolved_at     BIGINT,
    trigger_count   BIGINT NOT NULL,
    source          TEXT   NOT NULL,
    component       TEXT,
    details         TEXT   NOT NULL
);

CREATE INDEX incidents_dedup_status ON incidents (dedup_key, status);
CREATE INDEX incidents_opened ON incidents (opened_at);
-- At most one open incident per dedup key, whatever a writer does: the schema holds the
-- PagerDuty rule even should two triggers ever race past the writers' lock.
CREATE UNIQUE INDEX incidents_open_dedup ON incidents (dedup_key)
    WHERE status IN ('triggered', 'acknowledged', 'investigating');

CREATE TABLE incident_timeline (
    incident_id TEXT   NOT NULL REFERENCES incidents (id),
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    text        TEXT   NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
