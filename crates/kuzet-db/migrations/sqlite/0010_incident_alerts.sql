-- Kuzet schema version 10 (SQLite): the incident an alert was escalated into (at most one).
-- See docs/formats/database.md.
ALTER TABLE alerts ADD COLUMN incident_id TEXT;
CREATE INDEX alerts_by_incident ON alerts (incident_id);
