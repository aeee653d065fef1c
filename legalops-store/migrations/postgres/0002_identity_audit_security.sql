-- LegalOps records schema, version 2, PostgreSQL dialect: identity, audit trail, security
-- state. Keep in step with ../sqlite/0002_identity_audit_security.sql: same tables and
-- columns. Every instant is BIGINT microseconds since the Unix epoch (UTC), as in SQLite,
-- so that the queries are the same in both dialects, `at >= since` bounds hold to the
-- microsecond, and the audit chain hashes the same value it stores. JSON columns are TEXT
-- holding the text as written (jsonb would reorder keys and renormalise numbers).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- Listing pages by creation.
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT   NOT NULL UNIQUE,
    user_id      TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    ip           TEXT,
    user_agent   TEXT
);

CREATE INDEX sessions_user ON sessions (user_id);

-- scopes: a JSON array of strings.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT   NOT NULL,
    key_hash     TEXT   NOT NULL UNIQUE,
    scopes       TEXT   NOT NULL,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- A name is unique among live keys; a revoked key's name may be reused.
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;

-- seq is the primary key, so two appenders can never store the same position.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at_us      BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT,
    outcome    TEXT   NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    details    TEXT   NOT NULL,
    prev_hash  TEXT   NOT NULL,
    entry_hash TEXT   NOT NULL
);

CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root_hash TEXT   NOT NULL,
    at        BIGINT NOT NULL
);

CREATE TABLE failed_logins (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    ip         TEXT   NOT NULL,
    account    TEXT,
    user_agent TEXT
);

-- The three sliding-window counts, and pruning/listing by age.
CREATE INDEX failed_logins_ip ON failed_logins (ip, at);
CREATE INDEX failed_logins_account ON failed_logins (account, at);
CREATE INDEX failed_logins_account_ip ON failed_logins (account, ip, at);
CREATE INDEX failed_logins_at ON failed_logins (at);

CREATE TABLE blocks (
    id         TEXT PRIMARY KEY,
    target     TEXT   NOT NULL,
    reason     TEXT   NOT NULL,
    source     TEXT   NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    lifted_at  BIGINT
);

CREATE INDEX blocks_target ON blocks (target);

CREATE TABLE lockouts (
    account TEXT PRIMARY KEY,
    until   BIGINT NOT NULL,
    level   BIGINT NOT NULL
);

CREATE TABLE security_events (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    severity TEXT   NOT NULL,
    ip       TEXT,
    account  TEXT,
    message  TEXT   NOT NULL,
    details  TEXT   NOT NULL
);

CREATE INDEX security_events_at ON security_events (at);
