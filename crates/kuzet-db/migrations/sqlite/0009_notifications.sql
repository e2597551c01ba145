-- Kuzet schema version 9 (SQLite): each tenant's contacts (who is told, by e-mail or webhook, in which language)
-- and the outbox of notifications to them: written in the transaction that creates the reason to notify,
-- delivered and retried until accepted, never deleted.
-- See docs/formats/database.md.
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    secret TEXT,
    language TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    removed_ms BIGINT
);
CREATE INDEX contacts_by_tenant ON contacts (tenant_id, id);
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    incident_id TEXT,
    obligation_id TEXT,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    answer TEXT
);
CREATE INDEX notifications_due ON notifications (next_attempt_ms) WHERE delivered_ms IS NULL;
CREATE INDEX notifications_by_tenant ON notifications (tenant_id, created_ms, id);
