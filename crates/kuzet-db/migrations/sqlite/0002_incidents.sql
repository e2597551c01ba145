-- Kuzet schema version 2 (SQLite): incidents, their transitions, the obligations (regulatory clocks) they create
-- and the tasks of their response plans. Times are Unix milliseconds (UTC). See docs/formats/database.md.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    assessed_level BIGINT NOT NULL,
    override_level BIGINT,
    override_reason TEXT,
    override_by TEXT,
    personal_data_ms BIGINT,
    detected_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX incidents_tenant ON incidents (tenant_id, detected_ms);
CREATE TABLE incident_transitions (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (incident_id, seq)
);
CREATE TABLE obligations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT REFERENCES incidents(id),
    kind TEXT NOT NULL,
    fact_ms BIGINT NOT NULL,
    due_ms BIGINT NOT NULL,
    fulfilled_ms BIGINT,
    fulfilled_by TEXT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX obligations_due ON obligations (fulfilled_ms, due_ms);
CREATE TABLE plan_tasks (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    title_en TEXT NOT NULL,
    title_ru TEXT NOT NULL,
    title_kk TEXT NOT NULL,
    owner_role TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    done_ms BIGINT,
    done_by TEXT,
    PRIMARY KEY (incident_id, seq)
);
