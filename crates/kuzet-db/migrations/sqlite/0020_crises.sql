-- Kuzet schema version 20 (SQLite): at the NCCIS hub, the crisis rooms of the Operational Headquarters (R11): the
-- crisis, the reported incidents it is about, its members, its tasks and its timeline. See docs/formats/database.md.
CREATE TABLE crises (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    reason TEXT NOT NULL,
    level BIGINT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_ms BIGINT NOT NULL,
    closed_by TEXT,
    closed_ms BIGINT,
    summary TEXT
);
CREATE TABLE crisis_incidents (
    crisis_id TEXT NOT NULL REFERENCES crises(id),
    isoc_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    PRIMARY KEY (crisis_id, isoc_id, incident_id)
);
CREATE TABLE crisis_members (
    crisis_id TEXT NOT NULL REFERENCES crises(id),
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    organization TEXT NOT NULL,
    role TEXT NOT NULL,
    contact TEXT NOT NULL,
    PRIMARY KEY (crisis_id, seq)
);
CREATE TABLE crisis_tasks (
    crisis_id TEXT NOT NULL REFERENCES crises(id),
    seq BIGINT NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    done_ms BIGINT,
    done_by TEXT,
    PRIMARY KEY (crisis_id, seq)
);
CREATE TABLE crisis_entries (
    crisis_id TEXT NOT NULL REFERENCES crises(id),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (crisis_id, seq)
);
