-- LegalOps records schema, version 2, SQLite dialect: identity, audit trail, security state.
-- Keep in step with ../postgres/0002_identity_audit_security.sql: same tables and columns.
-- Every instant is integer microseconds since the Unix epoch (UTC), so that round trips
-- are lossless on both backends, `at >= since` bounds hold to the microsecond, and the
-- audit chain hashes the same value it stores. JSON columns hold the text as written.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Listing pages by creation.
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    ip           TEXT,
    user_agent   TEXT
);

CREATE INDEX sessions_user ON sessions (user_id);

-- scopes: a JSON array of strings.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);

-- A name is unique among live keys; a revoked key's name may be reused.
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;

-- seq is the primary key, so two appenders can never store the same position.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY NOT NULL,
    at_us      INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT,
    outcome    TEXT    NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    details    TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    entry_hash TEXT    NOT NULL
);

CREATE TABLE audit_checkpoints (
    tree_size INTEGER PRIMARY KEY NOT NULL,
    root_hash TEXT    NOT NULL,
    at        INTEGER NOT NULL
);

CREATE TABLE failed_logins (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    ip         TEXT    NOT NULL,
    account    TEXT,
    user_agent TEXT
);

-- The three sliding-window counts, and pruning/listing by age.
CREATE INDEX failed_logins_ip ON failed_logins (ip, at);
CREATE INDEX failed_logins_account ON failed_logins (account, at);
CREATE INDEX failed_logins_account_ip ON failed_logins (account, ip, at);
CREATE INDEX failed_logins_at ON failed_logins (at);

CREATE TABLE blocks (
    id         TEXT PRIMARY KEY NOT NULL,
    target     TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    lifted_at  INTEGER
);

CREATE INDEX blocks_target ON blocks (target);

CREATE TABLE lockouts (
    account TEXT PRIMARY KEY NOT NULL,
    until   INTEGER NOT NULL,
    level   INTEGER NOT NULL
);

-- AUTOINCREMENT: an id is never reused, even after the newest event is deleted.
CREATE TABLE security_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    severity TEXT    NOT NULL,
    ip       TEXT,
    account  TEXT,
    message  TEXT    NOT NULL,
    details  TEXT    NOT NULL
);

CREATE INDEX security_events_at ON security_events (at);
