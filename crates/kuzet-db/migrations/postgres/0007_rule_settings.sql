-- Kuzet schema version 7 (PostgreSQL): detection rules switched off for one tenant, and exceptions that keep a rule's
-- hits on one field value (a host, an account) of one tenant from becoming alerts. See docs/formats/database.md.
CREATE TABLE rule_settings (
    tenant_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, rule_id)
);
CREATE TABLE rule_exceptions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    until_ms BIGINT
);
CREATE INDEX rule_exceptions_by_tenant ON rule_exceptions (tenant_id, rule_id);
