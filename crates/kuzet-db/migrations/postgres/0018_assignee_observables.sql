-- Kuzet schema version 18 (PostgreSQL): who works an incident, and the observables it involves (addresses, domains,
-- URLs, hashes, mailboxes, hosts, accounts, files), each kind and value once. See docs/formats/database.md.
ALTER TABLE incidents ADD COLUMN assignee TEXT;
CREATE TABLE incident_observables (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    note TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_ms BIGINT NOT NULL,
    PRIMARY KEY (incident_id, kind, value)
);
CREATE INDEX incident_observables_by_value ON incident_observables (kind, value);
