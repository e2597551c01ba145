-- Kuzet schema version 19 (SQLite): the language each user chose for the console (kk, ru or en), so that it
-- follows them from browser to browser. See docs/formats/database.md.
ALTER TABLE users ADD COLUMN language TEXT;
