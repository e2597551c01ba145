-- Kuzet schema version 13 (PostgreSQL): advisories from NCCIS to the tenants they concern (R18).
-- ISOC side: each tenant's asset inventory, the messages received from the hub (once each), and the part of each
-- advisory every tenant it concerns received. Hub side: the messages to each ISOC, numbered per ISOC.
-- See docs/formats/database.md and docs/formats/nccis-exchange.md.
CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    facility_id TEXT,
    name TEXT NOT NULL,
    product TEXT,
    version TEXT,
    addresses TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    removed_ms BIGINT
);
CREATE INDEX assets_by_tenant ON assets (tenant_id, id);
CREATE TABLE exchange_inbox (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    jws TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
CREATE TABLE tenant_advisories (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    message_id TEXT NOT NULL REFERENCES exchange_inbox (id),
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    part TEXT NOT NULL,
    assets TEXT NOT NULL,
    version_unknown TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
CREATE INDEX tenant_advisories_by_tenant ON tenant_advisories (tenant_id, received_ms, id);
ALTER TABLE hub_isocs ADD COLUMN outbox_next BIGINT NOT NULL DEFAULT 0;
CREATE TABLE hub_outbox (
    isoc_id TEXT NOT NULL REFERENCES hub_isocs (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    body TEXT,
    jws TEXT,
    fetched_ms BIGINT,
    PRIMARY KEY (isoc_id, seq)
);
