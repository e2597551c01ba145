//! Incidents: their state (the pure workflow of `kuzet-cases`, stored), transitions, the obligations
//! (regulatory clocks) they create and the tasks of their response plans. Every call takes a scope; an incident of
//! another tenant is "not found".

use jiff::{SignedDuration, Timestamp};
use kuzet_cases::{
    BusinessCalendar, Category, Incident, LevelDecision, Obligation, ResponsePlan, Status, Title,
    Transition,
};
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{Criticality, FacilityId, ObjectId, TenantId, UserId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::exchange::{INSERT_MESSAGE, incident_message};
use crate::notifications::{CURRENT_CONTACTS, INSERT_NOTIFICATION, Outgoing, outbox_rows};
use crate::secrets::random;
use crate::{Db, DbError};

/// The data incidents are judged by: the business calendar, the response plan and the criticality rubric.
#[derive(Debug, Clone)]
pub struct IncidentRules {
    pub calendar: BusinessCalendar,
    pub plan: ResponsePlan,
    pub rubric: kuzet_cases::Rubric,
    /// "At once" (R15) as a clock: how long after the fact the owner-notification obligation falls due.
    pub owner_notification_grace: jiff::SignedDuration,
}

impl IncidentRules {
    /// The embedded calendar (2024–2027), default plan and default rubric.
    pub fn embedded() -> Result<Self, DbError> {
        let cases = |e: kuzet_cases::CasesError| DbError::invalid("incident rules", e.to_string());
        Ok(Self {
            calendar: BusinessCalendar::embedded().map_err(cases)?,
            plan: ResponsePlan::default_plan().map_err(cases)?,
            rubric: kuzet_cases::Rubric::default_rubric().map_err(cases)?,
            owner_notification_grace: jiff::SignedDuration::from_mins(30),
        })
    }
}

/// A step of an incident's workflow: where to, and why (a false positive needs a reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentStep {
    pub to: Status,
    pub reason: Option<String>,
}

/// An obligation as stored: its clock and whether something fulfilled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObligationRecord {
    pub id: ObjectId,
    pub incident: Option<ObjectId>,
    pub kind: String,
    pub fact: Timestamp,
    pub due: Timestamp,
    pub fulfilled: Option<(Timestamp, String)>,
}

/// A task of an incident's response plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub seq: u32,
    pub kind: String,
    pub title: Title,
    pub owner: String,
    pub due: Timestamp,
    pub done: Option<(Timestamp, UserId)>,
}

/// An incident with everything hanging from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub id: ObjectId,
    pub incident: Incident,
    pub created_by: UserId,
    pub obligations: Vec<ObligationRecord>,
    pub tasks: Vec<TaskRecord>,
    /// The alerts escalated into it, oldest first.
    pub alerts: Vec<ObjectId>,
    /// Who works it (see [`Db::assign_incident`]).
    pub assignee: Option<UserId>,
}

fn corrupt(what: &'static str) -> impl Fn(String) -> DbError {
    move |detail| DbError::Corrupt { what, detail }
}

type IncidentRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);
/// The ids of the incidents a page holds: of tenant $1, the one $2 (or all for ''), detected in $3..$4, after the
/// cursor ($5 detected, $6 id; newest first), at most $7. Each query of a page selects by it.
const SELECTED: &str = "SELECT id FROM incidents WHERE tenant_id = $1 AND ($2 = '' OR id = $2) \
     AND detected_ms >= $3 AND detected_ms < $4 AND (detected_ms < $5 OR (detected_ms = $5 AND id > $6)) \
     ORDER BY detected_ms DESC, id LIMIT $7";

/// A comment Kuzet writes on an incident's timeline ($1 incident, $2 time, $3 text, $4 actor), numbered after the
/// entries already there.
pub(crate) const INSERT_NOTE: &str = "INSERT INTO incident_entries (incident_id, seq, kind, at_ms, text, author, created_ms) \
     VALUES ($1, (SELECT COUNT(*) FROM incident_entries WHERE incident_id = $1), 'comment', $2, $3, $4, $2)";

/// An incident's obligation, as every path that starts clocks stores it.
const INSERT_OBLIGATION: &str = "INSERT INTO obligations (id, tenant_id, incident_id, kind, fact_ms, due_ms, created_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const INCIDENT_COLUMNS: &str = "id, tenant_id, title, category, assessed_level, override_level, override_reason, override_by, personal_data_ms, detected_ms, status, created_by, facilities, rubric_version, assessment";

type TransitionRow = (String, String, i64, String, Option<String>);
type ObligationRow = (String, String, i64, i64, Option<i64>, Option<String>);
type TaskRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

/// The rows of the transitions, obligations, tasks and alerts of several incidents, each with its incident's id.
type PartRows = (
    Vec<(String, TransitionRow)>,
    Vec<(String, ObligationRow)>,
    Vec<(String, TaskRow)>,
    Vec<(String, String)>,
);

/// The rows of one incident's transitions, obligations, tasks and alerts.
#[derive(Default)]
struct Parts {
    transitions: Vec<TransitionRow>,
    obligations: Vec<ObligationRow>,
    tasks: Vec<TaskRow>,
    alerts: Vec<String>,
}

/// One incident from its row and its parts' rows.
fn assemble(row: IncidentRow, parts: Parts) -> Result<IncidentRecord, DbError> {
    let (
        id,
        tenant_id,
        title,
        category,
        assessed,
        override_level,
        override_reason,
        override_by,
        personal,
        detected,
        status,
        created_by,
        facilities,
        rubric_version,
        assessment,
        assignee,
    ) = row;
    let Parts {
        transitions,
        obligations,
        tasks,
        alerts,
    } = parts;
    let model = |e: kuzet_model::ModelError| e.to_string();
    let cases = |e: kuzet_cases::CasesError| e.to_string();
    let user = |u: String| UserId::new(u).map_err(model).map_err(corrupt("user id"));
    let level = |l: i64| {
        Criticality::new(u8::try_from(l).unwrap_or(u8::MAX))
            .map_err(model)
            .map_err(corrupt("criticality level"))
    };
    let incident = Incident {
        tenant: TenantId::new(tenant_id)
            .map_err(model)
            .map_err(corrupt("tenant id"))?,
        facilities: facilities
            .split(',')
            .filter(|f| !f.is_empty())
            .map(|f| {
                FacilityId::new(f)
                    .map_err(model)
                    .map_err(corrupt("facility id"))
            })
            .collect::<Result<_, DbError>>()?,
        title,
        category: Category::parse(&category)
            .map_err(cases)
            .map_err(corrupt("category"))?,
        level: LevelDecision {
            assessed: level(assessed)?,
            overridden: match (override_level, override_reason, override_by) {
                (Some(l), Some(r), Some(u)) => Some((level(l)?, r, user(u)?)),
                _ => None,
            },
            assessment: match (rubric_version, assessment) {
                (Some(v), Some(e)) => Some((u32::try_from(v).unwrap_or(u32::MAX), e)),
                _ => None,
            },
        },
        personal_data: personal.map(ts),
        detected: ts(detected),
        status: Status::parse(&status)
            .map_err(cases)
            .map_err(corrupt("status"))?,
        transitions: transitions
            .into_iter()
            .map(|(from, to, at, actor, reason)| {
                Ok(Transition {
                    from: Status::parse(&from)
                        .map_err(cases)
                        .map_err(corrupt("status"))?,
                    to: Status::parse(&to)
                        .map_err(cases)
                        .map_err(corrupt("status"))?,
                    at: ts(at),
                    actor: user(actor)?,
                    reason,
                })
            })
            .collect::<Result<_, DbError>>()?,
    };
    let incident_id = ObjectId::new(id)
        .map_err(model)
        .map_err(corrupt("incident id"))?;
    Ok(IncidentRecord {
        obligations: obligations
            .into_iter()
            .map(|(oid, kind, fact, due, fulfilled, by)| {
                Ok(ObligationRecord {
                    id: ObjectId::new(oid)
                        .map_err(model)
                        .map_err(corrupt("obligation id"))?,
                    incident: Some(incident_id.clone()),
                    kind,
                    fact: ts(fact),
                    due: ts(due),
                    fulfilled: fulfilled.map(|f| (ts(f), by.unwrap_or_default())),
                })
            })
            .collect::<Result<_, DbError>>()?,
        tasks: tasks
            .into_iter()
            .map(|(seq, kind, en, ru, kk, owner, due, done, by)| {
                Ok(TaskRecord {
                    seq: u32::try_from(seq).unwrap_or(0),
                    kind,
                    title: Title { en, ru, kk },
                    owner,
                    due: ts(due),
                    done: match (done, by) {
                        (Some(d), Some(b)) => Some((ts(d), user(b)?)),
                        _ => None,
                    },
                })
            })
            .collect::<Result<_, DbError>>()?,
        alerts: alerts
            .into_iter()
            .map(|a| ObjectId::new(a).map_err(model).map_err(corrupt("alert id")))
            .collect::<Result<_, DbError>>()?,
        id: incident_id,
        incident,
        created_by: user(created_by)?,
        assignee: assignee.map(user).transpose()?,
    })
}

/// Escalates one alert of `tenant` into incident `id` inside the transaction `tx`: an alert of another tenant is
/// "not found", one already in an incident a conflict naming it. A macro: the transaction's type is each backend's.
macro_rules! escalate {
    ($tx:ident, $tenant:expr, $id:expr, $alert:expr, $by:expr, $now:expr) => {{
        let (tenant, id, alert): (&TenantId, &ObjectId, &ObjectId) = ($tenant, $id, $alert);
        let current: Option<(Option<String>,)> =
            sqlx::query_as("SELECT incident_id FROM alerts WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(alert.as_str())
                .fetch_optional(&mut *$tx)
                .await
                .map_err(DbError::query("alert"))?;
        match current {
            None => return Err(DbError::NotFound(format!("alert `{alert}`"))),
            Some((Some(other),)) => {
                return Err(DbError::Conflict(format!(
                    "alert `{alert}` is in incident `{other}`"
                )));
            }
            Some((None,)) => {}
        }
        sqlx::query("UPDATE alerts SET incident_id = $1, status = 'escalated', status_by = $2, status_ms = $3, status_reason = $4 WHERE tenant_id = $5 AND id = $6 AND incident_id IS NULL")
            .bind(id.as_str())
            .bind($by.as_str())
            .bind($now.as_millisecond())
            .bind(format!("escalated into incident {id}"))
            .bind(tenant.as_str())
            .bind(alert.as_str())
            .execute(&mut *$tx)
            .await
            .map_err(DbError::query("alert"))?;
    }};
}

impl Db {
    /// Opens an incident (for [`Permission::IncidentsManage`]) in status `detected`.
    pub async fn create_incident(
        &self,
        scope: &Scope,
        incident: &Incident,
        now: Timestamp,
    ) -> Result<ObjectId, DbError> {
        self.create_incident_from_alerts(scope, incident, &[], now)
            .await
    }

    /// Opens an incident (for [`Permission::IncidentsManage`]) in status `detected` from alerts of its tenant:
    /// each is escalated into it (status `escalated`, naming the incident), in one transaction — all or none. An
    /// alert already in another incident is a conflict naming it. With alerts, the incident was detected when the
    /// first of them was (never later than `incident.detected`).
    pub async fn create_incident_from_alerts(
        &self,
        scope: &Scope,
        incident: &Incident,
        alerts: &[ObjectId],
        now: Timestamp,
    ) -> Result<ObjectId, DbError> {
        self.open_incident(scope, incident, alerts, None, now).await
    }

    /// Splits alerts of an incident of `tenant` off into a new incident titled `title` (for
    /// [`Permission::IncidentsManage`]): what detection raised together turned out to be two incidents. The new
    /// one takes the old one's category, level decision, facilities and personal-data finding, is detected when
    /// the first moved alert was, and starts at `detected`; each incident's timeline says where the alerts went.
    /// All or none; every alert must be in the old incident.
    pub async fn split_incident(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        alerts: &[ObjectId],
        title: &str,
        now: Timestamp,
    ) -> Result<ObjectId, DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        if alerts.is_empty() {
            return Err(DbError::invalid("split", "name at least one alert to move"));
        }
        let old = self
            .load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(format!("incident `{id}`")))?
            .incident;
        let mut new = Incident::new(
            tenant.clone(),
            title.to_owned(),
            old.category,
            old.level.assessed,
            now,
        );
        new.level = old.level.clone();
        new.facilities = old.facilities.clone();
        new.personal_data = old.personal_data;
        self.open_incident(scope, &new, alerts, Some(id), now).await
    }

    async fn open_incident(
        &self,
        scope: &Scope,
        incident: &Incident,
        alerts: &[ObjectId],
        moved_from: Option<&ObjectId>,
        now: Timestamp,
    ) -> Result<ObjectId, DbError> {
        require(scope, Permission::IncidentsManage, &incident.tenant)?;
        let id = ObjectId::from_random(random::<16>()?);
        let mut i = incident.clone();
        if !alerts.is_empty() {
            let first = self.earliest_alert(&i.tenant, alerts).await?;
            i.detected = i.detected.min(first);
        }
        let i = &i;
        let listed = alerts
            .iter()
            .map(ObjectId::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("incident"))?;
            if let Some(old) = moved_from {
                for alert in alerts {
                    let moved = sqlx::query("UPDATE alerts SET incident_id = NULL WHERE tenant_id = $1 AND id = $2 AND incident_id = $3")
                        .bind(i.tenant.as_str()).bind(alert.as_str()).bind(old.as_str())
                        .execute(&mut *tx).await.map_err(DbError::query("alert"))?.rows_affected();
                    if moved != 1 {
                        return Err(DbError::invalid(format!("alert `{alert}`"), format!("not in incident `{old}`")));
                    }
                }
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO incidents ({INCIDENT_COLUMNS}, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")))
            .bind(id.as_str()).bind(i.tenant.as_str()).bind(&i.title).bind(i.category.as_str())
            .bind(i64::from(i.level.assessed.value()))
            .bind(i.level.overridden.as_ref().map(|(l, ..)| i64::from(l.value())))
            .bind(i.level.overridden.as_ref().map(|(_, r, _)| r.clone()))
            .bind(i.level.overridden.as_ref().map(|(.., u)| u.to_string()))
            .bind(i.personal_data.map(|t| t.as_millisecond()))
            .bind(i.detected.as_millisecond()).bind(i.status.as_str()).bind(scope.user().as_str())
            .bind(i.facilities.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(","))
            .bind(i.level.assessment.as_ref().map(|(v, _)| i64::from(*v)))
            .bind(i.level.assessment.as_ref().map(|(_, e)| e.clone()))
            .bind(now.as_millisecond())
            .execute(&mut *tx).await
            .map_err(|_| DbError::NotFound(format!("tenant `{}`", i.tenant)))?;
            for alert in alerts {
                escalate!(tx, &i.tenant, &id, alert, scope.user(), now);
            }
            if let Some(old) = moved_from {
                for (on, text) in [
                    (old, format!("split: alerts {listed} moved to incident {id}")),
                    (&id, format!("split from incident {old}: alerts {listed}")),
                ] {
                    sqlx::query(INSERT_NOTE)
                        .bind(on.as_str()).bind(now.as_millisecond()).bind(&text).bind(scope.user().as_str())
                        .execute(&mut *tx).await.map_err(DbError::query("incident entry"))?;
                }
            }
            tx.commit().await.map_err(DbError::query("incident"))?;
        });
        Ok(id)
    }

    /// Escalates more alerts of the tenant into an existing incident (for [`Permission::IncidentsManage`]): all
    /// or none, each at most into one incident.
    pub async fn add_incident_alerts(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        alerts: &[ObjectId],
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        self.incident_in(tenant, id).await?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("incident alerts"))?;
            for alert in alerts {
                escalate!(tx, tenant, id, alert, scope.user(), now);
            }
            tx.commit().await.map_err(DbError::query("incident alerts"))?;
        });
        Ok(())
    }

    /// When the first of `alerts` (of `tenant`) was first seen; an alert not of the tenant is "not found".
    async fn earliest_alert(
        &self,
        tenant: &TenantId,
        alerts: &[ObjectId],
    ) -> Result<Timestamp, DbError> {
        let mut first = i64::MAX;
        for alert in alerts {
            let row: Option<(i64,)> = on_pool!(self, pool => sqlx::query_as("SELECT first_ms FROM alerts WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str()).bind(alert.as_str())
                .fetch_optional(pool).await.map_err(DbError::query("alert"))?);
            let (at,) = row.ok_or_else(|| DbError::NotFound(format!("alert `{alert}`")))?;
            first = first.min(at);
        }
        Ok(ts(first))
    }

    /// A page of a tenant's incidents, newest first (for [`Permission::IncidentsRead`]): at most `limit` after
    /// the opaque `cursor` of the previous page, and the cursor of the next page when there is one.
    pub async fn incidents_page(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<IncidentRecord>, Option<String>), DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        let request = PageRequest::new(cursor, limit)?;
        let page = self
            .load_incident_page(
                tenant,
                None,
                (i64::MIN, i64::MAX),
                request.after(),
                request.fetch(),
            )
            .await?;
        Ok(request.finish(page, |r| {
            (r.incident.detected.as_millisecond(), r.id.to_string())
        }))
    }

    /// One incident of `tenant` (for [`Permission::IncidentsRead`]); an incident of another tenant is "not found".
    pub async fn incident(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<IncidentRecord, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(format!("incident `{id}`")))
    }

    pub(crate) async fn load_incident(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<IncidentRecord>, DbError> {
        Ok(self
            .load_incidents(tenant, Some(id), (i64::MIN, i64::MAX))
            .await?
            .into_iter()
            .next())
    }

    /// The incidents of `tenant` (or the one `only`) detected within `from_ms..to_ms`, newest first, after the
    /// cursor `after` and at most `limit`, with their transitions, obligations, tasks and alerts: five queries
    /// however many incidents there are.
    pub(crate) async fn load_incidents(
        &self,
        tenant: &TenantId,
        only: Option<&str>,
        (from_ms, to_ms): (i64, i64),
    ) -> Result<Vec<IncidentRecord>, DbError> {
        self.load_incident_page(tenant, only, (from_ms, to_ms), None, i64::MAX)
            .await
    }

    async fn load_incident_page(
        &self,
        tenant: &TenantId,
        only: Option<&str>,
        (from_ms, to_ms): (i64, i64),
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<IncidentRecord>, DbError> {
        // `''` selects every incident of the tenant; an id, that one. Without a cursor, everything is after it.
        let only = only.unwrap_or("");
        let (after_ms, after_id) = after.unwrap_or((i64::MAX, ""));
        let rows: Vec<IncidentRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLUMNS}, assignee FROM incidents WHERE id IN ({SELECTED}) ORDER BY detected_ms DESC, id")))
            .bind(tenant.as_str()).bind(only).bind(from_ms).bind(to_ms).bind(after_ms).bind(after_id).bind(limit)
            .fetch_all(pool).await.map_err(DbError::query("incidents"))?);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let (transitions, obligations, tasks, alerts): PartRows = on_pool!(self, pool => (
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT t.incident_id, t.from_status, t.to_status, t.at_ms, t.actor, t.reason FROM incident_transitions t WHERE t.incident_id IN ({SELECTED}) ORDER BY t.incident_id, t.seq")))
                .bind(tenant.as_str()).bind(only).bind(from_ms).bind(to_ms).bind(after_ms).bind(after_id).bind(limit)
                .fetch_all(pool).await.map_err(DbError::query("incident transitions"))?
                .into_iter().map(|(i, a, b, c, d, e)| (i, (a, b, c, d, e))).collect(),
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT o.incident_id, o.id, o.kind, o.fact_ms, o.due_ms, o.fulfilled_ms, o.fulfilled_by FROM obligations o WHERE o.incident_id IN ({SELECTED}) ORDER BY o.due_ms, o.id")))
                .bind(tenant.as_str()).bind(only).bind(from_ms).bind(to_ms).bind(after_ms).bind(after_id).bind(limit)
                .fetch_all(pool).await.map_err(DbError::query("obligations"))?
                .into_iter().map(|(i, a, b, c, d, e, f)| (i, (a, b, c, d, e, f))).collect(),
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT p.incident_id, p.seq, p.kind, p.title_en, p.title_ru, p.title_kk, p.owner_role, p.due_ms, p.done_ms, p.done_by FROM plan_tasks p WHERE p.incident_id IN ({SELECTED}) ORDER BY p.incident_id, p.seq")))
                .bind(tenant.as_str()).bind(only).bind(from_ms).bind(to_ms).bind(after_ms).bind(after_id).bind(limit)
                .fetch_all(pool).await.map_err(DbError::query("plan tasks"))?
                .into_iter().map(|(i, a, b, c, d, e, f, g, h, j)| (i, (a, b, c, d, e, f, g, h, j))).collect(),
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT a.incident_id, a.id FROM alerts a WHERE a.incident_id IN ({SELECTED}) ORDER BY a.incident_id, a.first_ms, a.id")))
                .bind(tenant.as_str()).bind(only).bind(from_ms).bind(to_ms).bind(after_ms).bind(after_id).bind(limit)
                .fetch_all(pool).await.map_err(DbError::query("incident alerts"))?,
        ));
        let mut by_incident: std::collections::HashMap<String, Parts> =
            std::collections::HashMap::new();
        for (id, t) in transitions {
            by_incident.entry(id).or_default().transitions.push(t);
        }
        for (id, o) in obligations {
            by_incident.entry(id).or_default().obligations.push(o);
        }
        for (id, t) in tasks {
            by_incident.entry(id).or_default().tasks.push(t);
        }
        for (id, a) in alerts {
            by_incident.entry(id).or_default().alerts.push(a);
        }
        rows.into_iter()
            .map(|row| {
                let parts = by_incident.remove(&row.0).unwrap_or_default();
                assemble(row, parts)
            })
            .collect()
    }

    /// Moves an incident along its workflow (for [`Permission::IncidentsManage`]): records the transition, stores
    /// the obligations it creates with their due instants, and on the first confirmation the response plan's
    /// tasks. Two analysts moving the same incident at once: the second is refused, not lost.
    pub async fn transition_incident(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        step: IncidentStep,
        now: Timestamp,
        rules: &IncidentRules,
    ) -> Result<Vec<ObligationRecord>, DbError> {
        let IncidentStep { to, reason } = step;
        require(scope, Permission::IncidentsManage, tenant)?;
        let record = self
            .load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(format!("incident `{id}`")))?;
        let mut incident = record.incident;
        let seq = i64::try_from(incident.transitions.len()).unwrap_or(i64::MAX);
        let before = incident.status;
        let was_confirmed = incident.confirmed().is_some();
        let object = format!("incident `{id}`");
        let obligations = incident
            .transition(to, scope.user(), now, reason.clone())
            .map_err(|e| DbError::invalid(object.clone(), e.to_string()))?;
        let tasks = if !was_confirmed && to == Status::Confirmed {
            rules
                .plan
                .instantiate(&incident, now)
                .map_err(|e| DbError::invalid(object.clone(), e.to_string()))?
        } else {
            Vec::new()
        };
        let stored = self.obligation_records(Some(id), &obligations, rules, now)?;
        // The first confirmation tells the tenant's contacts (R15): written with the transition, delivered after.
        // NCCIS hears of every step of a confirmed incident (R16): the message is written with the step too.
        let facts = match incident.confirmed() {
            Some(_) => Some(self.notice_facts(id, &incident).await?),
            None => None,
        };
        let owner_obligation = stored.iter().find(|o| o.kind == "owner_notification");
        let outgoing = match (owner_obligation, &facts) {
            (Some(o), Some(facts)) => Some(Outgoing {
                kind: kuzet_cases::NoticeKind::IncidentConfirmed,
                incident: id,
                owner_obligation: Some(&o.id),
                facts: facts.clone(),
            }),
            _ => None,
        };
        let nccis_obligation = stored
            .iter()
            .find(|o| o.kind == "nccis_report")
            .map(|o| &o.id);
        let message = match &facts {
            Some(facts) => incident_message(
                facts,
                &incident.facilities,
                was_confirmed,
                nccis_obligation,
                now,
                reason.as_deref(),
            )?,
            None => None,
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("incident"))?;
            let moved = sqlx::query("UPDATE incidents SET status = $1 WHERE id = $2 AND status = $3")
                .bind(to.as_str()).bind(id.as_str()).bind(before.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("incident"))?.rows_affected();
            if moved != 1 {
                return Err(DbError::Conflict(format!("{object} changed meanwhile; reload it")));
            }
            sqlx::query("INSERT INTO incident_transitions (incident_id, seq, from_status, to_status, at_ms, actor, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(id.as_str()).bind(seq).bind(before.as_str()).bind(to.as_str())
                .bind(now.as_millisecond()).bind(scope.user().as_str()).bind(&reason)
                .execute(&mut *tx).await.map_err(DbError::insert("incident transition", object.clone()))?;
            for o in &stored {
                sqlx::query(INSERT_OBLIGATION)
                    .bind(o.id.as_str()).bind(tenant.as_str()).bind(id.as_str()).bind(&o.kind)
                    .bind(o.fact.as_millisecond()).bind(o.due.as_millisecond()).bind(now.as_millisecond())
                    .execute(&mut *tx).await.map_err(DbError::query("obligation"))?;
            }
            for (n, task) in tasks.iter().enumerate() {
                sqlx::query("INSERT INTO plan_tasks (incident_id, seq, kind, title_en, title_ru, title_kk, owner_role, due_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(id.as_str()).bind(i64::try_from(n).unwrap_or(i64::MAX)).bind(task.kind.name())
                    .bind(&task.title.en).bind(&task.title.ru).bind(&task.title.kk).bind(&task.owner)
                    .bind(task.due.as_millisecond())
                    .execute(&mut *tx).await.map_err(DbError::query("plan task"))?;
            }
            if let Some(out) = &outgoing {
                let contacts: Vec<(String, String, String, String, String)> = sqlx::query_as(CURRENT_CONTACTS)
                    .bind(tenant.as_str()).fetch_all(&mut *tx).await.map_err(DbError::query("contacts"))?;
                for row in outbox_rows(out, &contacts)? {
                    sqlx::query(INSERT_NOTIFICATION)
                        .bind(row.id.as_str()).bind(tenant.as_str()).bind(row.kind).bind(&row.incident)
                        .bind(&row.obligation).bind(&row.contact).bind(&row.channel).bind(&row.address)
                        .bind(row.language).bind(&row.notice.subject).bind(&row.notice.body)
                        .bind(now.as_millisecond())
                        .execute(&mut *tx).await.map_err(DbError::query("notification"))?;
                }
            }
            if let Some(m) = &message {
                sqlx::query(INSERT_MESSAGE)
                    .bind(m.id.as_str()).bind(tenant.as_str()).bind(m.kind).bind(m.incident.as_str())
                    .bind(m.obligation.as_ref().map(ObjectId::as_str)).bind(&m.facilities).bind(&m.payload)
                    .bind(now.as_millisecond())
                    .execute(&mut *tx).await.map_err(DbError::query("exchange message"))?;
            }
            tx.commit().await.map_err(DbError::query("incident"))?;
        });
        Ok(stored)
    }

    /// What a notice about incident `id` states: the organization's and facilities' names, the level decided.
    async fn notice_facts(
        &self,
        id: &ObjectId,
        incident: &Incident,
    ) -> Result<kuzet_cases::NoticeFacts, DbError> {
        let tenant = self.tenant_unscoped(&incident.tenant).await?.tenant;
        let facilities = self
            .tenant_facilities(Some(&incident.tenant))
            .await?
            .into_iter()
            .filter(|f| incident.facilities.contains(&f.id))
            .map(|f| format!("{} ({})", f.name, f.id))
            .collect();
        Ok(kuzet_cases::NoticeFacts {
            organization: tenant.name,
            sector: tenant.sector,
            incident: id.to_string(),
            title: incident.title.clone(),
            category: incident.category,
            level: incident.level.level(),
            status: incident.status,
            detected: incident.detected,
            confirmed: incident.confirmed(),
            facilities,
            personal_data: incident.personal_data.is_some(),
        })
    }

    /// Sets an analyst's level instead of the rubric's, with a reason (for [`Permission::IncidentsManage`]); the
    /// assessed level is kept beside it. Returns (assessed, new) levels.
    pub async fn override_incident_level(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        level: kuzet_model::Criticality,
        reason: &str,
    ) -> Result<(kuzet_model::Criticality, kuzet_model::Criticality), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let object = format!("incident `{id}`");
        let mut incident = self
            .load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(object.clone()))?
            .incident;
        incident
            .override_level(level, reason, scope.user())
            .map_err(|e| DbError::invalid(object.clone(), e.to_string()))?;
        on_pool!(self, pool => sqlx::query("UPDATE incidents SET override_level = $1, override_reason = $2, override_by = $3 WHERE id = $4 AND tenant_id = $5")
            .bind(i64::from(level.value())).bind(reason).bind(scope.user().as_str()).bind(id.as_str()).bind(tenant.as_str())
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("incident"))?);
        Ok((incident.level.assessed, incident.level.level()))
    }

    /// Marks that personal data was found in the incident at `found` (for [`Permission::IncidentsManage`]): on a
    /// confirmed incident this starts the personal-data authority's clock (one business day). Marking twice is a
    /// conflict. Returns the obligations created.
    pub async fn mark_incident_personal_data(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        found: Timestamp,
        now: Timestamp,
        rules: &IncidentRules,
    ) -> Result<Vec<ObligationRecord>, DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let object = format!("incident `{id}`");
        let mut incident = self
            .load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(object.clone()))?
            .incident;
        if let Some(at) = incident.personal_data {
            return Err(DbError::Conflict(format!(
                "{object}: personal data already marked as found at {at}"
            )));
        }
        let obligations = incident.mark_personal_data(found.min(now));
        let found = incident.personal_data.unwrap_or(found);
        let stored = self.obligation_records(Some(id), &obligations, rules, now)?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("incident"))?;
            let marked = sqlx::query("UPDATE incidents SET personal_data_ms = $1 WHERE id = $2 AND tenant_id = $3 AND personal_data_ms IS NULL")
                .bind(found.as_millisecond()).bind(id.as_str()).bind(tenant.as_str())
                .execute(&mut *tx).await.map_err(DbError::query("incident"))?.rows_affected();
            if marked != 1 {
                return Err(DbError::Conflict(format!("{object}: personal data was marked meanwhile")));
            }
            for o in &stored {
                sqlx::query(INSERT_OBLIGATION)
                    .bind(o.id.as_str()).bind(tenant.as_str()).bind(id.as_str()).bind(&o.kind)
                    .bind(o.fact.as_millisecond()).bind(o.due.as_millisecond()).bind(now.as_millisecond())
                    .execute(&mut *tx).await.map_err(DbError::query("obligation"))?;
            }
            tx.commit().await.map_err(DbError::query("incident"))?;
        });
        Ok(stored)
    }

    fn obligation_records(
        &self,
        incident: Option<&ObjectId>,
        obligations: &[Obligation],
        rules: &IncidentRules,
        now: Timestamp,
    ) -> Result<Vec<ObligationRecord>, DbError> {
        obligations
            .iter()
            .map(|o| {
                Ok(ObligationRecord {
                    id: ObjectId::from_random(random::<16>()?),
                    incident: incident.cloned(),
                    kind: o.kind().to_owned(),
                    fact: o.fact().unwrap_or(now),
                    due: kuzet_cases::due(*o, &rules.calendar)
                        .map(|due| match o {
                            Obligation::OwnerNotification { .. } => {
                                due + rules.owner_notification_grace
                            }
                            _ => due,
                        })
                        .map_err(|e| {
                            DbError::invalid(format!("obligation {}", o.kind()), e.to_string())
                        })?,
                    fulfilled: None,
                })
            })
            .collect()
    }

    /// Creates, once per tenant and quarter, the obligation to report the previous quarter's incidents and the
    /// measures taken (R20), due the 10th of the month after it. For the process itself (at start-up and hourly),
    /// not for the API; running it again creates nothing twice. Returns how many were created.
    pub async fn system_ensure_periodic_obligations(
        &self,
        now: Timestamp,
        rules: &IncidentRules,
    ) -> Result<u64, DbError> {
        let current = kuzet_cases::Quarter::of(now);
        // The last quarter's incident report (R20) and this quarter's confirmation of contacts (R21).
        let periodic = [
            Obligation::QuarterlyReport {
                quarter: current.previous(),
            },
            Obligation::QuarterlyContactConfirmation { quarter: current },
        ];
        let records = self.obligation_records(None, &periodic, rules, now)?;
        // Only tenants served during the last quarter owe either: onboarded before this one began.
        let ended = current
            .start()
            .map_err(|e| DbError::invalid("quarter", e.to_string()))?;
        let served: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT id FROM tenants WHERE created_ms < $1 ORDER BY id")
            .bind(ended.as_millisecond()).fetch_all(pool).await.map_err(DbError::query("tenants"))?);
        let mut created = 0;
        // Plain pairs, not a lazy iterator of closures: this future is held across awaits in a spawned task.
        let mut owed: Vec<(&str, &ObligationRecord)> = Vec::new();
        for (t,) in &served {
            for r in &records {
                owed.push((t.as_str(), r));
            }
        }
        for (tenant, record) in owed {
            let id = ObjectId::from_random(random::<16>()?);
            created += on_pool!(self, pool => sqlx::query("INSERT INTO obligations (id, tenant_id, incident_id, kind, fact_ms, due_ms, created_ms) VALUES ($1, $2, NULL, $3, $4, $5, $6) ON CONFLICT (tenant_id, kind, fact_ms) WHERE incident_id IS NULL DO NOTHING")
                .bind(id.as_str()).bind(tenant).bind(&record.kind)
                .bind(record.fact.as_millisecond()).bind(record.due.as_millisecond()).bind(now.as_millisecond())
                .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query("obligation"))?);
        }
        Ok(created)
    }

    /// A page of a tenant's obligations, soonest due first (for [`Permission::IncidentsRead`]): at most `limit`
    /// after the opaque `cursor` of the previous page, and the cursor of the next page when there is one.
    pub async fn obligations_page(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ObligationRecord>, Option<String>), DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        let request = PageRequest::new(cursor, limit)?;
        let page = self
            .load_obligations(tenant, request.after(), request.fetch())
            .await?;
        Ok(request.finish(page, |o| (o.due.as_millisecond(), o.id.to_string())))
    }

    /// A tenant's obligations due after `after` (due, id), soonest first, at most `limit`.
    async fn load_obligations(
        &self,
        tenant: &TenantId,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<ObligationRecord>, DbError> {
        // Without a cursor, every obligation comes after it.
        let (after_ms, after_id) = after.unwrap_or((i64::MIN, ""));
        let rows: Vec<ObligationFullRow> = on_pool!(self, pool => sqlx::query_as("SELECT id, incident_id, kind, fact_ms, due_ms, fulfilled_ms, fulfilled_by FROM obligations WHERE tenant_id = $1 AND (due_ms > $2 OR (due_ms = $2 AND id > $3)) ORDER BY due_ms, id LIMIT $4")
            .bind(tenant.as_str()).bind(after_ms).bind(after_id).bind(limit).fetch_all(pool).await.map_err(DbError::query("obligations"))?);
        rows.into_iter().map(obligation_record).collect()
    }

    /// Every obligation not yet fulfilled that falls due by `until`, soonest first, with its tenant. For the
    /// process itself (the clock watch that warns before and alerts after a due instant).
    pub async fn system_open_obligations(
        &self,
        until: Timestamp,
    ) -> Result<Vec<(TenantId, ObligationRecord)>, DbError> {
        let rows: Vec<TenantObligationRow> = on_pool!(self, pool => sqlx::query_as("SELECT tenant_id, id, incident_id, kind, fact_ms, due_ms, fulfilled_ms, fulfilled_by FROM obligations WHERE fulfilled_ms IS NULL AND due_ms <= $1 ORDER BY due_ms, id")
            .bind(until.as_millisecond()).fetch_all(pool).await.map_err(DbError::query("obligations"))?);
        rows.into_iter()
            .map(|(tenant, id, incident, kind, fact, due, fulfilled, by)| {
                Ok((
                    TenantId::new(tenant)
                        .map_err(|e| e.to_string())
                        .map_err(corrupt("tenant id"))?,
                    obligation_record((id, incident, kind, fact, due, fulfilled, by))?,
                ))
            })
            .collect()
    }
}

impl Db {
    /// The clock watch's look at `now`: every obligation not fulfilled that is inside its warning window or past
    /// due raises an alert of its tenant (kind `clock`), once per obligation and alarm — an alert already raised,
    /// before a restart too, is not raised again. For the process itself. Returns the alerts raised.
    pub async fn system_raise_clock_alerts(
        &self,
        now: Timestamp,
    ) -> Result<Vec<crate::NewAlert>, DbError> {
        // The longest warning window: clocks due later than this cannot alarm yet.
        let ahead = SignedDuration::from_hours(4);
        let mut raised = Vec::new();
        for (tenant, o) in self.system_open_obligations(now + ahead).await? {
            let Some(alarm) = kuzet_cases::alarm(&o.kind, o.due, now) else {
                continue;
            };
            let key = format!("{}:{}", o.id, alarm.name());
            let seen: Option<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT id FROM alerts WHERE tenant_id = $1 AND dedup_key = $2")
                .bind(tenant.as_str()).bind(&key).fetch_optional(pool).await.map_err(DbError::query("alerts"))?);
            if seen.is_some() {
                continue;
            }
            let alert = crate::NewAlert {
                tenant,
                rule_id: format!("kuzet-clock-{}-{}", o.kind, alarm.name()),
                rule_title: match alarm {
                    kuzet_cases::Alarm::DueSoon => format!("Regulatory clock due soon: {}", o.kind),
                    kuzet_cases::Alarm::Overdue => format!("Regulatory clock overdue: {}", o.kind),
                },
                level: alarm.level(&o.kind).into(),
                kind: "clock".into(),
                dedup_key: key,
                at: now,
                events: Vec::new(),
                detail: serde_json::json!({
                    "obligation": o.id.as_str(),
                    "incident": o.incident.as_ref().map(|i| i.as_str()),
                    "obligation_kind": o.kind,
                    "due": o.due.to_string(),
                    "state": alarm.name(),
                }),
            };
            self.system_record_alert(&alert, now, SignedDuration::ZERO)
                .await?;
            raised.push(alert);
        }
        Ok(raised)
    }
}

/// An obligation's columns with its tenant first.
type TenantObligationRow = (
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// An obligation's columns: id, incident, kind, fact, due, fulfilled, by.
pub(crate) type ObligationFullRow = (
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

pub(crate) fn obligation_record(
    (id, incident, kind, fact, due, fulfilled, by): ObligationFullRow,
) -> Result<ObligationRecord, DbError> {
    let model = |e: kuzet_model::ModelError| e.to_string();
    Ok(ObligationRecord {
        id: ObjectId::new(id)
            .map_err(model)
            .map_err(corrupt("obligation id"))?,
        incident: incident
            .map(ObjectId::new)
            .transpose()
            .map_err(model)
            .map_err(corrupt("incident id"))?,
        kind,
        fact: ts(fact),
        due: ts(due),
        fulfilled: fulfilled.map(|f| (ts(f), by.unwrap_or_default())),
    })
}

impl Db {
    /// The rows of a tenant's incident report (for [`Permission::ReportsRead`]): the incidents detected in the
    /// report's period (a quarter in Kazakhstan time, or a journal's range), oldest first, with the plan measures
    /// done, titled in `lang`. Also the tenant's name.
    pub async fn incident_report(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        kind: kuzet_cases::ReportKind,
        lang: kuzet_cases::Lang,
    ) -> Result<(String, Vec<kuzet_cases::ReportRow>), DbError> {
        require(scope, Permission::ReportsRead, tenant)?;
        self.report_rows(tenant, kind, lang).await
    }

    /// The rows of a report of `tenant` over `kind`'s period, measures in `lang`: the tenant's name and the
    /// incidents detected in it, oldest first. The caller has checked access.
    pub(crate) async fn report_rows(
        &self,
        tenant: &TenantId,
        kind: kuzet_cases::ReportKind,
        lang: kuzet_cases::Lang,
    ) -> Result<(String, Vec<kuzet_cases::ReportRow>), DbError> {
        let cases = |e: kuzet_cases::CasesError| DbError::invalid("report period", e.to_string());
        let (start, end) = match kind {
            kuzet_cases::ReportKind::Quarterly(quarter) => (
                quarter.start().map_err(cases)?.as_millisecond(),
                quarter.next().start().map_err(cases)?.as_millisecond(),
            ),
            kuzet_cases::ReportKind::Journal { from, to } => {
                (from.as_millisecond(), to.as_millisecond())
            }
        };
        let name = self.tenant_unscoped(tenant).await?.tenant.name;
        // Four queries for the whole period, oldest first.
        let mut records = self.load_incidents(tenant, None, (start, end)).await?;
        records.sort_by(|a, b| {
            (a.incident.detected, a.id.as_str()).cmp(&(b.incident.detected, b.id.as_str()))
        });
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            let i = &record.incident;
            rows.push(kuzet_cases::ReportRow {
                incident: record.id.to_string(),
                title: i.title.clone(),
                category: i.category,
                level: i.level.level(),
                status: i.status,
                detected: i.detected,
                confirmed: i.confirmed(),
                personal_data: i.personal_data.is_some(),
                measures: record
                    .tasks
                    .iter()
                    .filter(|t| t.done.is_some())
                    .map(|t| t.title.pick(lang).to_owned())
                    .collect(),
            });
        }
        Ok((name, rows))
    }

    /// Marks a task of an incident's plan done (for [`Permission::IncidentsManage`]).
    pub async fn complete_task(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        seq: u32,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let changed = on_pool!(self, pool => sqlx::query("UPDATE plan_tasks SET done_ms = $1, done_by = $2 WHERE incident_id = $3 AND seq = $4 AND done_ms IS NULL AND incident_id IN (SELECT id FROM incidents WHERE tenant_id = $5)")
            .bind(now.as_millisecond()).bind(scope.user().as_str()).bind(id.as_str()).bind(i64::from(seq)).bind(tenant.as_str())
            .execute(pool).await.map_err(DbError::query("plan task"))?.rows_affected());
        if changed == 0 {
            return Err(DbError::NotFound(format!(
                "open task {seq} of incident `{id}`"
            )));
        }
        Ok(())
    }

    /// Records what fulfilled an obligation of `tenant` (a delivery receipt, a user's confirmation), once.
    pub async fn fulfil_obligation(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        by: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let changed = on_pool!(self, pool => sqlx::query("UPDATE obligations SET fulfilled_ms = $1, fulfilled_by = $2 WHERE id = $3 AND tenant_id = $4 AND fulfilled_ms IS NULL")
            .bind(now.as_millisecond()).bind(by).bind(id.as_str()).bind(tenant.as_str())
            .execute(pool).await.map_err(DbError::query("obligation"))?.rows_affected());
        if changed == 0 {
            return Err(DbError::NotFound(format!("open obligation `{id}`")));
        }
        Ok(())
    }
}

/// A page asked of a list sorted by (key, id): after the cursor `key.id` of the previous page's last item, at
/// most `limit` items. One more than asked is loaded: it says whether a next page exists.
pub(crate) struct PageRequest {
    after: Option<(i64, String)>,
    limit: usize,
}

impl PageRequest {
    pub(crate) fn new(cursor: Option<&str>, limit: u32) -> Result<Self, DbError> {
        let after = cursor
            .map(|text| {
                text.split_once('.')
                    .and_then(|(key, id)| Some((key.parse::<i64>().ok()?, id)))
                    // User ids allow the most characters of the ids lists are sorted by (objects', sources' and
                    // users'); the id is only ever a bound parameter.
                    .filter(|(_, id)| UserId::new(*id).is_ok())
                    .map(|(key, id)| (key, id.to_owned()))
                    .ok_or_else(|| {
                        DbError::invalid(format!("cursor `{text}`"), "not a cursor of this list")
                    })
            })
            .transpose()?;
        // A u32 fits a usize on every platform this runs on (32 bits or more).
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        Ok(PageRequest { after, limit })
    }

    pub(crate) fn after(&self) -> Option<(i64, &str)> {
        self.after.as_ref().map(|(key, id)| (*key, id.as_str()))
    }

    /// How many rows to load: the page and one more.
    pub(crate) fn fetch(&self) -> i64 {
        i64::try_from(self.limit)
            .unwrap_or(i64::MAX)
            .saturating_add(1)
    }

    /// The page cut back to the limit, and the next page's cursor when the extra row was there.
    pub(crate) fn finish<T>(
        &self,
        mut page: Vec<T>,
        key: impl Fn(&T) -> (i64, String),
    ) -> (Vec<T>, Option<String>) {
        if page.len() <= self.limit {
            return (page, None);
        }
        page.truncate(self.limit);
        let next = page.last().map(|item| {
            let (sort, id) = key(item);
            format!("{sort}.{id}")
        });
        (page, next)
    }
}
