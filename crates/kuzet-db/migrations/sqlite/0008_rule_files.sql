-- Kuzet schema version 8 (SQLite): Sigma rule files imported with `kuzet rules import`, every version kept whole,
-- and the recent imports by time.
-- See docs/formats/database.md.
CREATE TABLE rule_files (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_ms BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX rule_files_by_time ON rule_files (imported_ms);
