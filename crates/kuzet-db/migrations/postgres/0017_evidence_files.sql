-- Kuzet schema version 17 (PostgreSQL): files kept as evidence of an incident (R12 (7)). The bytes live write-once in
-- the data directory under their SHA-256 (docs/formats/evidence-files.md); each row names the digest every later
-- read is checked against, and the attachment's audit record seals it. See docs/formats/database.md.
CREATE TABLE evidence_files (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    added_ms BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (incident_id, sha256)
);
CREATE INDEX evidence_files_by_time ON evidence_files (incident_id, added_ms);
