-- Kuzet schema version 16 (SQLite): each tenant's threat (risk) catalog (R24, R25) — likelihood and impact
-- 1–5, the treatment chosen and its plan, who owns it — and the confirmed incidents that realized an entry.
-- See docs/formats/database.md.
CREATE TABLE risks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    title TEXT NOT NULL,
    threat TEXT NOT NULL,
    likelihood BIGINT NOT NULL,
    impact BIGINT NOT NULL,
    treatment TEXT NOT NULL,
    plan TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX risks_by_tenant ON risks (tenant_id, id);
CREATE TABLE incident_risks (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    risk_id TEXT NOT NULL REFERENCES risks(id),
    linked_by TEXT NOT NULL,
    linked_ms BIGINT NOT NULL,
    PRIMARY KEY (incident_id, risk_id)
);
CREATE INDEX incident_risks_by_risk ON incident_risks (risk_id);
