-- Kuzet schema version 15 (SQLite): NCCIS asks an ISOC for read access to a tenant's logs (R19).
-- Hub side: a message to an ISOC may name the tenant it is about. ISOC side: each request as received, and the
-- administrator's decision (the grant made, or the refusal), which goes back to the hub.
-- See docs/formats/database.md and docs/formats/nccis-exchange.md.
ALTER TABLE hub_outbox ADD COLUMN tenant TEXT;
CREATE TABLE access_requests (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    starts_ms BIGINT NOT NULL,
    ends_ms BIGINT NOT NULL,
    reason TEXT NOT NULL,
    query TEXT,
    received_ms BIGINT NOT NULL,
    decided_ms BIGINT,
    decided_by TEXT,
    granted BOOLEAN,
    grant_id TEXT,
    answer TEXT
);
CREATE INDEX access_requests_by_time ON access_requests (received_ms, id);
