//! What people write on an incident (comments, events of its timeline, its cause, the lessons learned: R12's
//! "causes" and the review after it), append-only; and the incident's **timeline**: those entries merged in time
//! with what the system recorded — detection, each alert, each status change, evidence collected, tasks done,
//! notices delivered, obligations fulfilled.

use jiff::{SignedDuration, Timestamp};
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{ObjectId, TenantId, UserId};

use crate::backend::{on_pool, ts};
use crate::directory::require;
use crate::{Db, DbError};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A remark of whoever works the incident.
    Comment,
    /// Something that happened, at the time given (a manual timeline entry: "the attacker's first login").
    Event,
    /// The cause established (the latest one stands).
    Cause,
    /// Lessons learned (the latest one stands).
    Lessons,
}

impl EntryKind {
    pub const ALL: &'static [EntryKind] = &[
        EntryKind::Comment,
        EntryKind::Event,
        EntryKind::Cause,
        EntryKind::Lessons,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Comment => "comment",
            EntryKind::Event => "event",
            EntryKind::Cause => "cause",
            EntryKind::Lessons => "lessons",
        }
    }

    /// Parses a kind name; the error lists the valid ones.
    pub fn parse(name: &str) -> Result<Self, DbError> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| {
                DbError::invalid(
                    format!("entry kind `{name}`"),
                    "one of comment, event, cause, lessons",
                )
            })
    }
}

/// An entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    /// For an [`EntryKind::Event`]: when it happened (default now). Refused for the other kinds.
    pub at: Option<Timestamp>,
    pub text: String,
}

/// An entry as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    pub seq: u32,
    pub kind: EntryKind,
    /// When it happened (an event's time as given; otherwise when it was written).
    pub at: Timestamp,
    pub text: String,
    pub author: UserId,
    pub created: Timestamp,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineItem {
    pub at: Timestamp,
    /// `detected`, `alert`, `status`, `evidence`, `task`, `notification`, `obligation`, or an entry's kind.
    pub kind: &'static str,
    pub text: String,
    /// Who did it, when a person did.
    pub by: Option<String>,
}

/// Longest entry text, in characters.
pub const MAX_ENTRY_CHARS: usize = 4000;

/// How far in the future an event's time may lie (clocks differ a little).
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

impl Db {
    /// Writes an entry on an incident of `tenant` (for [`Permission::IncidentsManage`]). An `event` takes the
    /// time it happened (`at`, not in the future, not before 2000); the others are dated now. Text: 1 to
    /// [`MAX_ENTRY_CHARS`] characters.
    pub async fn add_incident_entry(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        entry: &NewEntry,
        now: Timestamp,
    ) -> Result<EntryRecord, DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let (kind, at) = (entry.kind, entry.at);
        let text = entry.text.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_ENTRY_CHARS {
            return Err(DbError::invalid(
                "entry `text`",
                format!("{chars} characters; give 1 to {MAX_ENTRY_CHARS}"),
            ));
        }
        let at = match (kind, at) {
            (EntryKind::Event, Some(at)) => {
                let earliest: Timestamp = "2000-01-01T00:00:00Z"
                    .parse()
                    .map_err(|_| DbError::invalid("entry `at`", "no earliest time"))?;
                if at > now + CLOCK_SKEW || at < earliest {
                    return Err(DbError::invalid(
                        format!("entry `at` {at}"),
                        format!("give when it happened: after {earliest}, not after now ({now})"),
                    ));
                }
                at
            }
            (EntryKind::Event, None) => now,
            (_, Some(_)) => {
                return Err(DbError::invalid(
                    "entry `at`",
                    format!(
                        "only an `event` takes a time; a {} is dated when written",
                        kind.as_str()
                    ),
                ));
            }
            (_, None) => now,
        };
        self.incident_in(tenant, id).await?;
        let object = format!("incident `{id}`");
        let seq = on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("incident entry"))?;
            let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM incident_entries WHERE incident_id = $1")
                .bind(id.as_str()).fetch_one(&mut *tx).await.map_err(DbError::query("incident entries"))?;
            sqlx::query("INSERT INTO incident_entries (incident_id, seq, kind, at_ms, text, author, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(id.as_str()).bind(count).bind(kind.as_str()).bind(at.as_millisecond()).bind(text)
                .bind(scope.user().as_str()).bind(now.as_millisecond())
                .execute(&mut *tx).await
                .map_err(|_| DbError::Conflict(format!("{object}: another entry was written meanwhile; write again")))?;
            tx.commit().await.map_err(DbError::query("incident entry"))?;
            count
        });
        Ok(EntryRecord {
            seq: u32::try_from(seq).unwrap_or(u32::MAX),
            kind,
            at,
            text: text.to_owned(),
            author: scope.user().clone(),
            created: now,
        })
    }

    /// The entries of an incident of `tenant`, in writing order (for [`Permission::IncidentsRead`]).
    pub async fn incident_entries(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<Vec<EntryRecord>, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        self.incident_in(tenant, id).await?;
        self.load_entries(id).await
    }

    async fn load_entries(&self, id: &ObjectId) -> Result<Vec<EntryRecord>, DbError> {
        let rows: Vec<(i64, String, i64, String, String, i64)> = on_pool!(self, pool => sqlx::query_as("SELECT seq, kind, at_ms, text, author, created_ms FROM incident_entries WHERE incident_id = $1 ORDER BY seq")
            .bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("incident entries"))?);
        rows.into_iter()
            .map(|(seq, kind, at, text, author, created)| {
                Ok(EntryRecord {
                    seq: u32::try_from(seq).unwrap_or(u32::MAX),
                    kind: EntryKind::parse(&kind).map_err(|e| DbError::Corrupt {
                        what: "entry kind",
                        detail: e.to_string(),
                    })?,
                    at: ts(at),
                    text,
                    author: UserId::new(author).map_err(|e| DbError::Corrupt {
                        what: "user id",
                        detail: e.to_string(),
                    })?,
                    created: ts(created),
                })
            })
            .collect()
    }

    /// An incident's timeline, oldest first (for [`Permission::IncidentsRead`]): detection, alerts (first and
    /// last hit), status changes, evidence collected, plan tasks done, notices delivered, obligations fulfilled and
    /// what people wrote — eight queries, however long the incident.
    pub async fn incident_timeline(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
    ) -> Result<Vec<TimelineItem>, DbError> {
        require(scope, Permission::IncidentsRead, tenant)?;
        let record = self
            .load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(format!("incident `{id}`")))?;
        let incident = &record.incident;
        let mut items = vec![TimelineItem {
            at: incident.detected,
            kind: "detected",
            text: format!("detected: {}", incident.title),
            by: Some(record.created_by.to_string()),
        }];
        type AlertRow = (String, String, i64, i64, i64);
        type EvidenceRow = (String, String, i64, String);
        type NoticeRow = (String, String, String, i64);
        let (alerts, evidence, notices): (Vec<AlertRow>, Vec<EvidenceRow>, Vec<NoticeRow>) = on_pool!(self, pool => (
            sqlx::query_as("SELECT id, rule_title, first_ms, last_ms, hits FROM alerts WHERE tenant_id = $1 AND incident_id = $2 ORDER BY first_ms, id")
                .bind(tenant.as_str()).bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("incident alerts"))?,
            sqlx::query_as("SELECT event_id, added_by, added_ms, reason FROM evidence_items WHERE incident_id = $1 ORDER BY seq")
                .bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("evidence"))?,
            sqlx::query_as("SELECT channel, address, COALESCE(answer, ''), delivered_ms FROM notifications WHERE incident_id = $1 AND delivered_ms IS NOT NULL ORDER BY delivered_ms, id")
                .bind(id.as_str()).fetch_all(pool).await.map_err(DbError::query("notifications"))?,
        ));
        for (alert, rule, first, last, hits) in alerts {
            items.push(TimelineItem {
                at: ts(first),
                kind: "alert",
                text: format!("alert {alert} ({rule}): first hit"),
                by: None,
            });
            if last > first {
                items.push(TimelineItem {
                    at: ts(last),
                    kind: "alert",
                    text: format!("alert {alert} ({rule}): last hit, {hits} in all"),
                    by: None,
                });
            }
        }
        for t in &incident.transitions {
            items.push(TimelineItem {
                at: t.at,
                kind: "status",
                text: match &t.reason {
                    Some(reason) => format!("{} → {}: {reason}", t.from.as_str(), t.to.as_str()),
                    None => format!("{} → {}", t.from.as_str(), t.to.as_str()),
                },
                by: Some(t.actor.to_string()),
            });
        }
        for (event, by, at, reason) in evidence {
            items.push(TimelineItem {
                at: ts(at),
                kind: "evidence",
                text: format!("event {event} collected as evidence: {reason}"),
                by: Some(by),
            });
        }
        for task in &record.tasks {
            if let Some((at, by)) = &task.done {
                items.push(TimelineItem {
                    at: *at,
                    kind: "task",
                    text: format!("done: {}", task.title.en),
                    by: Some(by.to_string()),
                });
            }
        }
        for (channel, address, receipt, at) in notices {
            items.push(TimelineItem {
                at: ts(at),
                kind: "notification",
                text: format!("{channel} to {address} accepted: {receipt}"),
                by: None,
            });
        }
        for o in &record.obligations {
            if let Some((at, by)) = &o.fulfilled {
                items.push(TimelineItem {
                    at: *at,
                    kind: "obligation",
                    text: format!("{} fulfilled: {by}", o.kind),
                    by: None,
                });
            }
        }
        for e in self.load_entries(id).await? {
            items.push(TimelineItem {
                at: e.at,
                kind: e.kind.as_str(),
                text: e.text,
                by: Some(e.author.to_string()),
            });
        }
        // Stable: what happened at one instant keeps the order above (detection before its alerts' effects).
        items.sort_by_key(|i| i.at);
        Ok(items)
    }
}

impl Db {
    /// The facts of the personal-data breach notice of an incident of `tenant` (for
    /// [`Permission::IncidentsManage`]; R22): the incident must have a personal-data finding; the responsible
    /// persons are the tenant's `personal_data` contacts, the measures its plan tasks done (in `lang`), the cause
    /// the latest one written; `affected` (the persons' identifiers) is the operator's, 1 to 20,000 characters.
    pub async fn breach_notice_facts(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        id: &ObjectId,
        affected: &str,
        lang: kuzet_cases::Lang,
    ) -> Result<kuzet_cases::BreachFacts, DbError> {
        require(scope, Permission::IncidentsManage, tenant)?;
        let chars = affected.trim().chars().count();
        if chars == 0 || chars > 20_000 {
            return Err(DbError::invalid(
                "notice `affected`",
                format!("{chars} characters; give the affected persons' identifiers in 1 to 20000"),
            ));
        }
        let record = self
            .load_incident(tenant, id.as_str())
            .await?
            .ok_or_else(|| DbError::NotFound(format!("incident `{id}`")))?;
        let i = &record.incident;
        let Some(found) = i.personal_data else {
            return Err(DbError::invalid(
                format!("incident `{id}`"),
                "no personal-data breach is marked on it (POST …/personal-data first)",
            ));
        };
        let organization = self.tenant_unscoped(tenant).await?.tenant.name;
        let responsible: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as("SELECT name, address FROM contacts WHERE tenant_id = $1 AND role = 'personal_data' AND removed_ms IS NULL ORDER BY id")
            .bind(tenant.as_str()).fetch_all(pool).await.map_err(DbError::query("contacts"))?);
        let cause = self
            .load_entries(id)
            .await?
            .into_iter()
            .rfind(|e| e.kind == EntryKind::Cause)
            .map(|e| e.text);
        Ok(kuzet_cases::BreachFacts {
            organization,
            incident: id.to_string(),
            title: i.title.clone(),
            category: i.category,
            detected: i.detected,
            found,
            responsible,
            affected: affected.trim().to_owned(),
            measures: record
                .tasks
                .iter()
                .filter(|t| t.done.is_some())
                .map(|t| t.title.pick(lang).to_owned())
                .collect(),
            cause,
        })
    }

    /// The rows of a tenant's monthly metrics (for [`Permission::ReportsRead`]): the incidents detected in
    /// `year`-`month` (Kazakhstan time) with their status changes and the earliest `event` written on each (when
    /// the attack began, as established); and the tenant's name. Five queries for the whole month.
    pub async fn incident_metrics(
        &self,
        scope: &Scope,
        tenant: &TenantId,
        (year, month): (i16, i8),
    ) -> Result<(String, Vec<kuzet_cases::MetricsRow>), DbError> {
        require(scope, Permission::ReportsRead, tenant)?;
        let (from, to) = kuzet_cases::month_range(year, month)
            .map_err(|e| DbError::invalid(format!("month {year}-{month:02}"), e.to_string()))?;
        let name = self.tenant_unscoped(tenant).await?.tenant.name;
        let (from, to) = (from.as_millisecond(), to.as_millisecond());
        let records = self.load_incidents(tenant, None, (from, to)).await?;
        let began: Vec<(String, i64)> = on_pool!(self, pool => sqlx::query_as("SELECT e.incident_id, MIN(e.at_ms) FROM incident_entries e JOIN incidents i ON i.id = e.incident_id WHERE i.tenant_id = $1 AND i.detected_ms >= $2 AND i.detected_ms < $3 AND e.kind = 'event' GROUP BY e.incident_id")
            .bind(tenant.as_str()).bind(from).bind(to).fetch_all(pool).await.map_err(DbError::query("incident entries"))?);
        let began: std::collections::HashMap<String, i64> = began.into_iter().collect();
        let rows = records
            .into_iter()
            .map(|r| kuzet_cases::MetricsRow {
                category: r.incident.category,
                level: r.incident.level.level(),
                detected: r.incident.detected,
                began: began.get(r.id.as_str()).copied().map(ts),
                transitions: r
                    .incident
                    .transitions
                    .iter()
                    .map(|t| (t.to, t.at))
                    .collect(),
            })
            .collect();
        Ok((name, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ones_list_the_valid() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()).unwrap(), *kind);
        }
        let e = EntryKind::parse("note").unwrap_err().to_string();
        assert!(
            e.contains("`note`") && e.contains("comment, event, cause, lessons"),
            "{e}"
        );
    }
}
