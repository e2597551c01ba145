-- Kuzet schema version 4 (PostgreSQL): per-incident counters for the evidence and custody sequence numbers, taken with one
-- UPDATE … RETURNING (a row lock on PostgreSQL, the write lock on SQLite) instead of COUNT(*) then INSERT, which
-- let concurrent appends collide or fail. See docs/formats/database.md.
ALTER TABLE incidents ADD COLUMN evidence_next BIGINT NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN custody_next BIGINT NOT NULL DEFAULT 0;
UPDATE incidents SET
    evidence_next = (SELECT COUNT(*) FROM evidence_items e WHERE e.incident_id = incidents.id),
    custody_next = (SELECT COUNT(*) FROM custody_entries c WHERE c.incident_id = incidents.id);
