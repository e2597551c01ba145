-- Kuzet schema version 14 (PostgreSQL): at the NCCIS hub, the notices that pass incidents of levels 3-5 to the
-- national security bodies (R11): written with the message that reported the level, once per incident and
-- address, delivered and retried like notifications. See docs/formats/database.md.
CREATE TABLE hub_escalations (
    id TEXT PRIMARY KEY,
    isoc_id TEXT NOT NULL REFERENCES hub_isocs (id),
    incident TEXT NOT NULL,
    message_id TEXT NOT NULL,
    level BIGINT NOT NULL,
    address TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    answer TEXT,
    UNIQUE (isoc_id, incident, address)
);
CREATE INDEX hub_escalations_due ON hub_escalations (next_attempt_ms) WHERE delivered_ms IS NULL;
