-- Kuzet schema version 1 (SQLite): the directory of tenants, facilities and sources; users, sessions, API tokens
-- and access grants. Times are Unix milliseconds (UTC). See docs/formats/database.md.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hot_days BIGINT NOT NULL,
    archive_years BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE facilities (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    class BIGINT NOT NULL CHECK (class BETWEEN 1 AND 3),
    critical BOOLEAN NOT NULL
);
CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    facility_id TEXT REFERENCES facilities(id),
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    expected_interval_secs BIGINT
);
CREATE TABLE source_identities (
    source_id TEXT NOT NULL REFERENCES sources(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    totp_secret TEXT,
    totp_pending_secret TEXT,
    totp_last_step BIGINT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT NOT NULL
);
CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE TABLE user_tenants (
    user_id TEXT NOT NULL REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (user_id, tenant_id)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    all_tenants BOOLEAN NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT,
    last_used_ms BIGINT
);
CREATE TABLE api_token_tenants (
    token_id TEXT NOT NULL REFERENCES api_tokens(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (token_id, tenant_id)
);
CREATE TABLE access_grants (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    starts_ms BIGINT NOT NULL,
    ends_ms BIGINT NOT NULL,
    revoked_ms BIGINT,
    reason TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX access_grants_user ON access_grants (user_id);
