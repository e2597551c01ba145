-- Kuzet schema version 6 (SQLite): alerts raised by detection (a rule or a correlation), deduplicated within a
-- window by a key, with the events that raised them (the first ones kept, the rest counted) and their triage state.
-- See docs/formats/database.md.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    first_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    events TEXT NOT NULL,
    events_dropped BIGINT NOT NULL,
    detail TEXT NOT NULL,
    status TEXT NOT NULL,
    status_by TEXT,
    status_ms BIGINT,
    status_reason TEXT
);
CREATE INDEX alerts_by_time ON alerts (tenant_id, created_ms, id);
CREATE INDEX alerts_open_by_key ON alerts (tenant_id, dedup_key, last_ms);
