//! What the two outboxes (notifications to contacts, exchange messages to NCCIS) share: claiming what is due
//! under a lease, recording a failed attempt with backoff, and counting what waits. Each outbox table has
//! `id`, `attempts`, `next_attempt_ms`, `created_ms` and `delivered_ms`, and names its own error column.

use jiff::{SignedDuration, Timestamp};

use crate::backend::{on_pool, ts};
use crate::{Db, DbError};

/// How long a claimed message is reserved for the claiming process before another may try it.
pub const CLAIM_LEASE: SignedDuration = SignedDuration::from_mins(2);

/// Errors are kept to this many characters.
pub(crate) const MAX_REPORT: usize = 1000;

pub(crate) fn cut(text: &str) -> String {
    text.chars().take(MAX_REPORT).collect()
}

/// The first wait after a failed attempt, unless configured otherwise.
pub const RETRY_BASE: SignedDuration = SignedDuration::from_secs(30);

/// The wait before the next attempt after `attempts` failed ones: 30 s, doubling, at most an hour.
pub fn retry_delay(attempts: u32) -> SignedDuration {
    retry_delay_from(RETRY_BASE, attempts)
}

/// The wait before the next attempt after `attempts` failed ones: `base`, doubling, at most an hour.
pub fn retry_delay_from(base: SignedDuration, attempts: u32) -> SignedDuration {
    let doublings = attempts.saturating_sub(1).min(20);
    base.checked_mul(1i32 << doublings)
        .unwrap_or(SignedDuration::MAX)
        .min(SignedDuration::from_hours(1))
}

/// How many undelivered messages wait, and how many of them have failed at least once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub undelivered: u64,
    pub failing: u64,
    /// The oldest undelivered message's creation.
    pub oldest: Option<Timestamp>,
}

/// One outbox table.
#[derive(Clone, Copy)]
pub(crate) struct Outbox {
    pub table: &'static str,
    /// The column a failed attempt's error goes to.
    pub error_column: &'static str,
    /// What one row is called in errors.
    pub what: &'static str,
}

impl Outbox {
    /// Reserves up to `limit` rows due at `now` for [`CLAIM_LEASE`]; returns their ids and the lease's end. Two
    /// processes on one database never claim the same row at once.
    pub(crate) async fn claim(
        self,
        db: &Db,
        now: Timestamp,
        limit: u32,
    ) -> Result<(Vec<String>, Timestamp), DbError> {
        let Outbox { table, what, .. } = self;
        let due: Vec<(String, i64)> = on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id, next_attempt_ms FROM {table} WHERE delivered_ms IS NULL AND next_attempt_ms <= $1 ORDER BY next_attempt_ms, id LIMIT $2")))
            .bind(now.as_millisecond()).bind(i64::from(limit))
            .fetch_all(pool).await.map_err(DbError::query(what))?);
        let lease = (now + CLAIM_LEASE).as_millisecond();
        let mut claimed = Vec::new();
        for (id, next) in due {
            let got = on_pool!(db, pool => sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET next_attempt_ms = $1 WHERE id = $2 AND next_attempt_ms = $3 AND delivered_ms IS NULL")))
                .bind(lease).bind(&id).bind(next)
                .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query(what))?);
            if got == 1 {
                claimed.push(id);
            }
        }
        Ok((claimed, ts(lease)))
    }

    /// Records a failed attempt on row `id` at `at`; the next is due after [`retry_delay_from`] `base`. Returns
    /// when.
    pub(crate) async fn failed(
        self,
        db: &Db,
        id: &str,
        (at, base): (Timestamp, SignedDuration),
        error: &str,
    ) -> Result<Timestamp, DbError> {
        let Outbox {
            table,
            error_column,
            what,
        } = self;
        let row: Option<(i64,)> = on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT attempts FROM {table} WHERE id = $1 AND delivered_ms IS NULL")))
            .bind(id).fetch_optional(pool).await.map_err(DbError::query(what))?);
        let Some((attempts,)) = row else {
            return Err(DbError::NotFound(format!("undelivered {what} `{id}`")));
        };
        let attempts = u32::try_from(attempts.saturating_add(1)).unwrap_or(u32::MAX);
        let next = at + retry_delay_from(base, attempts);
        on_pool!(db, pool => sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET attempts = $1, {error_column} = $2, next_attempt_ms = $3 WHERE id = $4 AND delivered_ms IS NULL")))
            .bind(i64::from(attempts)).bind(cut(error)).bind(next.as_millisecond()).bind(id)
            .execute(pool).await.map(|r| r.rows_affected()).map_err(DbError::query(what))?);
        Ok(next)
    }

    /// What waits in the table.
    pub(crate) async fn backlog(self, db: &Db) -> Result<Backlog, DbError> {
        let Outbox { table, what, .. } = self;
        let (undelivered, failing, oldest): (i64, i64, Option<i64>) = on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0), MIN(created_ms) FROM {table} WHERE delivered_ms IS NULL")))
            .fetch_one(pool).await.map_err(DbError::query(what))?);
        Ok(Backlog {
            undelivered: u64::try_from(undelivered).unwrap_or(0),
            failing: u64::try_from(failing).unwrap_or(0),
            oldest: oldest.map(ts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let secs: Vec<i64> = (1..=10).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(retry_delay(0).as_secs(), 30);
        assert_eq!(retry_delay(u32::MAX).as_secs(), 3600);
        let quick: Vec<i64> = (1..=4)
            .map(|n| retry_delay_from(SignedDuration::from_millis(200), n).as_millis() as i64)
            .collect();
        assert_eq!(quick, [200, 400, 800, 1600]);
    }
}
