-- Kuzet schema version 3 (SQLite): evidence attached to incidents (sealed events by id) and the chain of custody
-- of an incident's evidence: every collection, access, export and hand-over; and periodic obligations (quarterly
-- reports) created once per tenant and period. See docs/formats/database.md.
CREATE TABLE evidence_items (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_ms BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq),
    UNIQUE (incident_id, event_id)
);
CREATE TABLE custody_entries (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
CREATE UNIQUE INDEX obligations_periodic_once ON obligations (tenant_id, kind, fact_ms) WHERE incident_id IS NULL;
