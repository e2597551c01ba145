-- Kuzet schema version 11 (SQLite): what people write on an incident — comments, events of its timeline, its
-- cause and lessons learned — append-only, in order.
-- See docs/formats/database.md.
CREATE TABLE incident_entries (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
CREATE INDEX incident_entries_by_time ON incident_entries (incident_id, at_ms);
