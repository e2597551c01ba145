-- Kuzet schema version 12 (PostgreSQL): the NCCIS exchange.
-- ISOC side: the outbox of messages to the hub, written in the transaction of the fact they report, their bytes
-- and signature frozen at the first attempt, the hub's signed receipt kept beside them once delivered.
-- Hub side: the ISOCs it knows by certificate, and every message received, once per (ISOC, id), as received.
-- See docs/formats/database.md and docs/formats/nccis-exchange.md.
CREATE TABLE exchange_outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    incident_id TEXT,
    obligation_id TEXT,
    facilities TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    body TEXT,
    jws TEXT,
    delivered_ms BIGINT,
    receipt_body TEXT,
    receipt_jws TEXT,
    last_error TEXT
);
CREATE INDEX exchange_outbox_due ON exchange_outbox (next_attempt_ms) WHERE delivered_ms IS NULL;
CREATE INDEX exchange_outbox_by_tenant ON exchange_outbox (tenant_id, created_ms, id);
CREATE TABLE hub_isocs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    certificate TEXT NOT NULL,
    registered_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE TABLE hub_messages (
    isoc_id TEXT NOT NULL REFERENCES hub_isocs (id),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    tenant TEXT,
    level BIGINT,
    digest TEXT NOT NULL,
    body TEXT NOT NULL,
    jws TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (isoc_id, id)
);
CREATE INDEX hub_messages_by_time ON hub_messages (received_ms, isoc_id, id);
