-- Kuzet schema version 21 (SQLite): the sector of the economy each tenant belongs to (a code of kuzet_model::Sector,
-- NULL when not said), which incident reports carry to the NCCIS national view. See docs/formats/database.md.
ALTER TABLE tenants ADD COLUMN sector TEXT;
