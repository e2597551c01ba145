//! At the NCCIS hub, the crisis rooms of the Operational Headquarters (R11): a crisis convened about reported
//! incidents, the people convened, their tasks and the room's timeline. Every change writes its timeline entry
//! in the same transaction; a closed crisis takes no more changes.

use jiff::Timestamp;
use kuzet_model::access::{Permission, Scope};
use kuzet_model::{ObjectId, UserId};

use crate::backend::{on_pool, ts};
use crate::directory::require_permission;
use crate::secrets::random;
use crate::{Db, DbError};

/// A crisis to open.
#[derive(Debug, Clone)]
pub struct NewCrisis {
    pub title: String,
    pub reason: String,
    /// 3–5: the levels NCCIS passes on (R11).
    pub level: u8,
    /// The reported incidents it is about: (ISOC, incident id at that ISOC).
    pub incidents: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisMember {
    pub name: String,
    pub organization: String,
    pub role: String,
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisTask {
    pub seq: u32,
    pub title: String,
    pub owner: String,
    pub due: Timestamp,
    pub done: Option<(Timestamp, UserId)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisEntry {
    pub at: Timestamp,
    pub author: UserId,
    pub text: String,
}

/// A crisis with its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisRecord {
    pub id: ObjectId,
    pub title: String,
    pub reason: String,
    pub level: u8,
    pub opened_by: UserId,
    pub opened: Timestamp,
    /// When, by whom and with what summary it was closed.
    pub closed: Option<(Timestamp, UserId, String)>,
    pub incidents: Vec<(String, String)>,
    pub members: Vec<CrisisMember>,
    pub tasks: Vec<CrisisTask>,
    pub entries: Vec<CrisisEntry>,
}

const INSERT_ENTRY: &str = "INSERT INTO crisis_entries (crisis_id, seq, at_ms, author, text) \
     VALUES ($1, (SELECT COUNT(*) FROM crisis_entries WHERE crisis_id = $1), $2, $3, $4)";

fn corrupt(what: &'static str) -> impl Fn(String) -> DbError {
    move |detail| DbError::Corrupt { what, detail }
}

fn text_field(name: &str, text: &str, max: usize) -> Result<String, DbError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(DbError::invalid(
            format!("`{name}`"),
            format!("give 1 to {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// What one change does to a crisis, with its timeline entry.
enum Change<'a> {
    Member(&'a CrisisMember),
    Task {
        title: &'a str,
        owner: &'a str,
        due: Timestamp,
    },
    TaskDone(u32),
    Entry(&'a str),
    Close(&'a str),
}

impl Db {
    /// Convenes the Operational Headquarters for a crisis (for [`Permission::CrisisManage`]).
    pub async fn open_crisis(
        &self,
        scope: &Scope,
        crisis: &NewCrisis,
        now: Timestamp,
    ) -> Result<ObjectId, DbError> {
        require_permission(scope, Permission::CrisisManage)?;
        let title = text_field("title", &crisis.title, 300)?;
        let reason = text_field("reason", &crisis.reason, 4000)?;
        if !(3..=5).contains(&crisis.level) {
            return Err(DbError::invalid(
                "`level`",
                format!(
                    "{}: the Operational Headquarters is convened for levels 3 to 5",
                    crisis.level
                ),
            ));
        }
        let id = ObjectId::from_random(random::<16>()?);
        let opened = format!("opened (level {}): {reason}", crisis.level);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("crisis"))?;
            sqlx::query("INSERT INTO crises (id, title, reason, level, opened_by, opened_ms) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id.as_str()).bind(&title).bind(&reason).bind(i64::from(crisis.level))
                .bind(scope.user().as_str()).bind(now.as_millisecond())
                .execute(&mut *tx).await.map_err(DbError::query("crisis"))?;
            sqlx::query(INSERT_ENTRY)
                .bind(id.as_str()).bind(now.as_millisecond()).bind(scope.user().as_str()).bind(&opened)
                .execute(&mut *tx).await.map_err(DbError::query("crisis entry"))?;
            for (isoc, incident) in &crisis.incidents {
                sqlx::query("INSERT INTO crisis_incidents (crisis_id, isoc_id, incident_id) VALUES ($1, $2, $3) ON CONFLICT (crisis_id, isoc_id, incident_id) DO NOTHING")
                    .bind(id.as_str()).bind(isoc).bind(incident)
                    .execute(&mut *tx).await.map_err(DbError::query("crisis incident"))?;
            }
            tx.commit().await.map_err(DbError::query("crisis"))?;
        });
        Ok(id)
    }

    /// Every crisis, open ones first, newest first within each (for [`Permission::HubRead`]).
    pub async fn crises(&self, scope: &Scope) -> Result<Vec<CrisisRecord>, DbError> {
        require_permission(scope, Permission::HubRead)?;
        let ids: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as("SELECT id FROM crises ORDER BY closed_ms IS NOT NULL, opened_ms DESC, id")
            .fetch_all(pool).await.map_err(DbError::query("crises"))?);
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            out.push(self.load_crisis(&id).await?);
        }
        Ok(out)
    }

    /// One crisis with its room (for [`Permission::HubRead`]).
    pub async fn crisis(&self, scope: &Scope, id: &ObjectId) -> Result<CrisisRecord, DbError> {
        require_permission(scope, Permission::HubRead)?;
        self.load_crisis(id.as_str()).await
    }

    /// Convenes one more member (for [`Permission::CrisisManage`]).
    pub async fn add_crisis_member(
        &self,
        scope: &Scope,
        id: &ObjectId,
        member: &CrisisMember,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.change_crisis(scope, id, Change::Member(member), now)
            .await
    }

    /// Gives the room a task (for [`Permission::CrisisManage`]), numbered from 0 in the order given.
    pub async fn add_crisis_task(
        &self,
        scope: &Scope,
        id: &ObjectId,
        title: &str,
        owner: &str,
        due: Timestamp,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.change_crisis(scope, id, Change::Task { title, owner, due }, now)
            .await
    }

    /// Marks a task done (for [`Permission::CrisisManage`]); a task done already is a conflict.
    pub async fn crisis_task_done(
        &self,
        scope: &Scope,
        id: &ObjectId,
        task: u32,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.change_crisis(scope, id, Change::TaskDone(task), now)
            .await
    }

    /// Writes on the room's timeline (for [`Permission::CrisisManage`]).
    pub async fn add_crisis_entry(
        &self,
        scope: &Scope,
        id: &ObjectId,
        text: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.change_crisis(scope, id, Change::Entry(text), now)
            .await
    }

    /// Closes the crisis with a summary (for [`Permission::CrisisManage`]).
    pub async fn close_crisis(
        &self,
        scope: &Scope,
        id: &ObjectId,
        summary: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.change_crisis(scope, id, Change::Close(summary), now)
            .await
    }

    async fn change_crisis(
        &self,
        scope: &Scope,
        id: &ObjectId,
        change: Change<'_>,
        now: Timestamp,
    ) -> Result<(), DbError> {
        require_permission(scope, Permission::CrisisManage)?;
        let record = self.load_crisis(id.as_str()).await?;
        if record.closed.is_some() {
            return Err(DbError::Conflict(format!(
                "crisis `{id}` is closed: it takes no more changes"
            )));
        }
        let user = scope.user().as_str();
        let at = now.as_millisecond();
        let crisis = id.as_str();
        // The change's own statement (if any) and its timeline entry.
        let entry = match &change {
            Change::Member(m) => {
                let name = text_field("name", &m.name, 200)?;
                let organization = text_field("organization", &m.organization, 300)?;
                let role = text_field("role", &m.role, 200)?;
                if m.contact.trim().chars().count() > 300 {
                    return Err(DbError::invalid("`contact`", "give at most 300 characters"));
                }
                format!(
                    "member convened: {name} ({organization}, {role}){}",
                    if m.contact.trim().is_empty() {
                        String::new()
                    } else {
                        format!(", {}", m.contact.trim())
                    }
                )
            }
            Change::Task { title, owner, due } => {
                let title = text_field("title", title, 300)?;
                let owner = text_field("owner", owner, 200)?;
                format!("task: {title} — {owner}, due {due}")
            }
            Change::TaskDone(seq) => {
                let task = record
                    .tasks
                    .iter()
                    .find(|t| t.seq == *seq)
                    .ok_or_else(|| DbError::NotFound(format!("task {seq} of crisis `{id}`")))?;
                if task.done.is_some() {
                    return Err(DbError::Conflict(format!(
                        "task {seq} of crisis `{id}` is done already"
                    )));
                }
                format!("task done: {}", task.title)
            }
            Change::Entry(text) => text_field("text", text, 4000)?,
            Change::Close(summary) => {
                format!("closed: {}", text_field("summary", summary, 4000)?)
            }
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(DbError::query("crisis"))?;
            match &change {
                Change::Member(m) => {
                    sqlx::query("INSERT INTO crisis_members (crisis_id, seq, name, organization, role, contact) VALUES ($1, (SELECT COUNT(*) FROM crisis_members WHERE crisis_id = $1), $2, $3, $4, $5)")
                        .bind(crisis).bind(m.name.trim()).bind(m.organization.trim()).bind(m.role.trim()).bind(m.contact.trim())
                        .execute(&mut *tx).await.map_err(DbError::query("crisis member"))?;
                }
                Change::Task { title, owner, due } => {
                    sqlx::query("INSERT INTO crisis_tasks (crisis_id, seq, title, owner, due_ms) VALUES ($1, (SELECT COUNT(*) FROM crisis_tasks WHERE crisis_id = $1), $2, $3, $4)")
                        .bind(crisis).bind(title.trim()).bind(owner.trim()).bind(due.as_millisecond())
                        .execute(&mut *tx).await.map_err(DbError::query("crisis task"))?;
                }
                Change::TaskDone(seq) => {
                    sqlx::query("UPDATE crisis_tasks SET done_ms = $1, done_by = $2 WHERE crisis_id = $3 AND seq = $4 AND done_ms IS NULL")
                        .bind(at).bind(user).bind(crisis).bind(i64::from(*seq))
                        .execute(&mut *tx).await.map_err(DbError::query("crisis task"))?;
                }
                Change::Entry(_) => {}
                Change::Close(summary) => {
                    sqlx::query("UPDATE crises SET closed_ms = $1, closed_by = $2, summary = $3 WHERE id = $4 AND closed_ms IS NULL")
                        .bind(at).bind(user).bind(summary.trim()).bind(crisis)
                        .execute(&mut *tx).await.map_err(DbError::query("crisis"))?;
                }
            }
            sqlx::query(INSERT_ENTRY)
                .bind(crisis).bind(at).bind(user).bind(&entry)
                .execute(&mut *tx).await.map_err(DbError::query("crisis entry"))?;
            tx.commit().await.map_err(DbError::query("crisis"))?;
        });
        Ok(())
    }

    async fn load_crisis(&self, id: &str) -> Result<CrisisRecord, DbError> {
        type Row = (
            String,
            String,
            String,
            i64,
            String,
            i64,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        type TaskRow = (i64, String, String, i64, Option<i64>, Option<String>);
        let row: Option<Row> = on_pool!(self, pool => sqlx::query_as("SELECT id, title, reason, level, opened_by, opened_ms, closed_by, closed_ms, summary FROM crises WHERE id = $1")
            .bind(id).fetch_optional(pool).await.map_err(DbError::query("crisis"))?);
        let (id, title, reason, level, opened_by, opened, closed_by, closed_ms, summary) =
            row.ok_or_else(|| DbError::NotFound(format!("crisis `{id}`")))?;
        type Parts = (
            Vec<(String, String)>,
            Vec<(String, String, String, String)>,
            Vec<TaskRow>,
            Vec<(i64, String, String)>,
        );
        let (incidents, members, tasks, entries): Parts = on_pool!(self, pool => (
            sqlx::query_as("SELECT isoc_id, incident_id FROM crisis_incidents WHERE crisis_id = $1 ORDER BY isoc_id, incident_id")
                .bind(&id).fetch_all(pool).await.map_err(DbError::query("crisis incidents"))?,
            sqlx::query_as("SELECT name, organization, role, contact FROM crisis_members WHERE crisis_id = $1 ORDER BY seq")
                .bind(&id).fetch_all(pool).await.map_err(DbError::query("crisis members"))?,
            sqlx::query_as("SELECT seq, title, owner, due_ms, done_ms, done_by FROM crisis_tasks WHERE crisis_id = $1 ORDER BY seq")
                .bind(&id).fetch_all(pool).await.map_err(DbError::query("crisis tasks"))?,
            sqlx::query_as("SELECT at_ms, author, text FROM crisis_entries WHERE crisis_id = $1 ORDER BY seq")
                .bind(&id).fetch_all(pool).await.map_err(DbError::query("crisis entries"))?,
        ));
        let user = |u: String| {
            UserId::new(u)
                .map_err(|e| e.to_string())
                .map_err(corrupt("user id"))
        };
        Ok(CrisisRecord {
            id: ObjectId::new(id)
                .map_err(|e| e.to_string())
                .map_err(corrupt("crisis id"))?,
            title,
            reason,
            level: u8::try_from(level).unwrap_or(u8::MAX),
            opened_by: user(opened_by)?,
            opened: ts(opened),
            closed: match (closed_ms, closed_by, summary) {
                (Some(at), Some(by), summary) => {
                    Some((ts(at), user(by)?, summary.unwrap_or_default()))
                }
                _ => None,
            },
            incidents,
            members: members
                .into_iter()
                .map(|(name, organization, role, contact)| CrisisMember {
                    name,
                    organization,
                    role,
                    contact,
                })
                .collect(),
            tasks: tasks
                .into_iter()
                .map(|(seq, title, owner, due, done, by)| {
                    Ok(CrisisTask {
                        seq: u32::try_from(seq).unwrap_or(u32::MAX),
                        title,
                        owner,
                        due: ts(due),
                        done: match (done, by) {
                            (Some(at), Some(by)) => Some((ts(at), user(by)?)),
                            _ => None,
                        },
                    })
                })
                .collect::<Result<_, DbError>>()?,
            entries: entries
                .into_iter()
                .map(|(at, author, text)| {
                    Ok(CrisisEntry {
                        at: ts(at),
                        author: user(author)?,
                        text,
                    })
                })
                .collect::<Result<_, DbError>>()?,
        })
    }
}
