-- Kuzet schema version 5: what an incident's level was judged on, kept with it — the facilities affected (ids,
-- comma-separated), the criticality rubric's version and its explanation. See docs/formats/database.md.
ALTER TABLE incidents ADD COLUMN facilities TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN rubric_version BIGINT;
ALTER TABLE incidents ADD COLUMN assessment TEXT;
