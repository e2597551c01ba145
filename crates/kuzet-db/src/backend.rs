//! The two backends behind one `Db`, the migrations of each and the macro that runs one SQL text on either.
//!
//! Every query is written once with `$1, $2, …` placeholders in ascending order (both sqlx drivers bind them by
//! position) and decoded into tuples of `String`, `i64`, `bool` and their `Option`s, which both drivers read the
//! same way. `on_pool!` expands the query once per backend, so each is type-checked against its own driver.

use std::sync::Arc;
use std::time::Duration;

use kuzet_model::access::RoleCatalog;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{AuthPolicy, DbError};

/// Which engine a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool (or transaction source).
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.pool {
            $crate::backend::Pool::Sqlite($pool) => $body,
            $crate::backend::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// One migration: a version, a name and the SQL of each backend.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "identity",
        sqlite: include_str!("../migrations/sqlite/0001_identity.sql"),
        postgres: include_str!("../migrations/postgres/0001_identity.sql"),
    },
    Migration {
        version: 2,
        name: "incidents",
        sqlite: include_str!("../migrations/sqlite/0002_incidents.sql"),
        postgres: include_str!("../migrations/postgres/0002_incidents.sql"),
    },
    Migration {
        version: 3,
        name: "evidence",
        sqlite: include_str!("../migrations/sqlite/0003_evidence.sql"),
        postgres: include_str!("../migrations/postgres/0003_evidence.sql"),
    },
    Migration {
        version: 4,
        name: "sequences",
        sqlite: include_str!("../migrations/sqlite/0004_sequences.sql"),
        postgres: include_str!("../migrations/postgres/0004_sequences.sql"),
    },
    Migration {
        version: 5,
        name: "assessment",
        sqlite: include_str!("../migrations/sqlite/0005_assessment.sql"),
        postgres: include_str!("../migrations/postgres/0005_assessment.sql"),
    },
    Migration {
        version: 6,
        name: "alerts",
        sqlite: include_str!("../migrations/sqlite/0006_alerts.sql"),
        postgres: include_str!("../migrations/postgres/0006_alerts.sql"),
    },
    Migration {
        version: 7,
        name: "rule settings",
        sqlite: include_str!("../migrations/sqlite/0007_rule_settings.sql"),
        postgres: include_str!("../migrations/postgres/0007_rule_settings.sql"),
    },
    Migration {
        version: 8,
        name: "rule files",
        sqlite: include_str!("../migrations/sqlite/0008_rule_files.sql"),
        postgres: include_str!("../migrations/postgres/0008_rule_files.sql"),
    },
    Migration {
        version: 9,
        name: "notifications",
        sqlite: include_str!("../migrations/sqlite/0009_notifications.sql"),
        postgres: include_str!("../migrations/postgres/0009_notifications.sql"),
    },
    Migration {
        version: 10,
        name: "incident alerts",
        sqlite: include_str!("../migrations/sqlite/0010_incident_alerts.sql"),
        postgres: include_str!("../migrations/postgres/0010_incident_alerts.sql"),
    },
    Migration {
        version: 11,
        name: "incident entries",
        sqlite: include_str!("../migrations/sqlite/0011_incident_entries.sql"),
        postgres: include_str!("../migrations/postgres/0011_incident_entries.sql"),
    },
    Migration {
        version: 12,
        name: "exchange",
        sqlite: include_str!("../migrations/sqlite/0012_exchange.sql"),
        postgres: include_str!("../migrations/postgres/0012_exchange.sql"),
    },
    Migration {
        version: 13,
        name: "advisories",
        sqlite: include_str!("../migrations/sqlite/0013_advisories.sql"),
        postgres: include_str!("../migrations/postgres/0013_advisories.sql"),
    },
    Migration {
        version: 14,
        name: "escalations",
        sqlite: include_str!("../migrations/sqlite/0014_escalations.sql"),
        postgres: include_str!("../migrations/postgres/0014_escalations.sql"),
    },
    Migration {
        version: 15,
        name: "access requests",
        sqlite: include_str!("../migrations/sqlite/0015_access_requests.sql"),
        postgres: include_str!("../migrations/postgres/0015_access_requests.sql"),
    },
    Migration {
        version: 16,
        name: "risks",
        sqlite: include_str!("../migrations/sqlite/0016_risks.sql"),
        postgres: include_str!("../migrations/postgres/0016_risks.sql"),
    },
    Migration {
        version: 17,
        name: "evidence files",
        sqlite: include_str!("../migrations/sqlite/0017_evidence_files.sql"),
        postgres: include_str!("../migrations/postgres/0017_evidence_files.sql"),
    },
    Migration {
        version: 18,
        name: "assignee and observables",
        sqlite: include_str!("../migrations/sqlite/0018_assignee_observables.sql"),
        postgres: include_str!("../migrations/postgres/0018_assignee_observables.sql"),
    },
    Migration {
        version: 19,
        name: "user language",
        sqlite: include_str!("../migrations/sqlite/0019_user_language.sql"),
        postgres: include_str!("../migrations/postgres/0019_user_language.sql"),
    },
    Migration {
        version: 20,
        name: "crises",
        sqlite: include_str!("../migrations/sqlite/0020_crises.sql"),
        postgres: include_str!("../migrations/postgres/0020_crises.sql"),
    },
    Migration {
        version: 21,
        name: "tenant sector",
        sqlite: include_str!("../migrations/sqlite/0021_tenant_sector.sql"),
        postgres: include_str!("../migrations/postgres/0021_tenant_sector.sql"),
    },
];

/// The relational store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: Pool,
    pub(crate) catalog: Arc<RoleCatalog>,
    pub(crate) policy: Arc<AuthPolicy>,
    /// Password hashing (Argon2, deliberately slow) runs off the async workers, this many at once: a flood of
    /// logins queues here instead of taking every core from ingestion.
    pub(crate) hashing: Arc<tokio::sync::Semaphore>,
}

/// Argon2 computations at once (each takes one core for tens of milliseconds).
const HASHING_AT_ONCE: usize = 2;

impl Db {
    /// Connects to `url` (`sqlite://PATH`, created if missing, or `postgres://…`) and applies pending migrations.
    pub async fn connect(
        url: &str,
        catalog: RoleCatalog,
        policy: AuthPolicy,
    ) -> Result<Db, DbError> {
        let connect = |source| DbError::Connect {
            url: redact(url),
            source,
        };
        let pool = if let Some(path) = url.strip_prefix("sqlite://") {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(connect)?,
            )
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options: PgConnectOptions = url.parse().map_err(connect)?;
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await
                    .map_err(connect)?,
            )
        } else {
            return Err(DbError::UnsupportedUrl(redact(url)));
        };
        let db = Db {
            pool,
            catalog: Arc::new(catalog),
            policy: Arc::new(policy),
            hashing: Arc::new(tokio::sync::Semaphore::new(HASHING_AT_ONCE)),
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn catalog(&self) -> &RoleCatalog {
        &self.catalog
    }

    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// The newest schema version applied.
    pub async fn schema_version(&self) -> Result<i64, DbError> {
        let version: Option<i64> = on_pool!(self, pool => {
            sqlx::query_as::<_, (Option<i64>,)>("SELECT MAX(version) FROM schema_migrations")
                .fetch_one(pool)
                .await
                .map_err(DbError::query("schema version"))?
                .0
        });
        Ok(version.unwrap_or(0))
    }

    /// Applies every migration newer than the schema's version, each in its own transaction.
    async fn migrate(&self) -> Result<(), DbError> {
        let create = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";
        on_pool!(self, pool => {
            sqlx::query(create)
                .execute(pool)
                .await
                .map_err(DbError::query("schema_migrations"))?;
        });
        let current = self.schema_version().await?;
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        if current > known {
            return Err(DbError::SchemaTooNew {
                found: current,
                known,
            });
        }
        let now = jiff::Timestamp::now().as_millisecond();
        for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
            let failed = |source| DbError::Migration {
                version: migration.version,
                name: migration.name,
                source,
            };
            on_pool!(self, pool => {
                let sql = match self.backend() {
                    Backend::Sqlite => migration.sqlite,
                    Backend::Postgres => migration.postgres,
                };
                let mut tx = pool.begin().await.map_err(failed)?;
                for statement in statements(sql) {
                    sqlx::query(statement).execute(&mut *tx).await.map_err(failed)?;
                }
                sqlx::query("INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)")
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                tx.commit().await.map_err(failed)?;
            });
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "database migrated"
            );
        }
        Ok(())
    }
}

/// The statements of a migration file: split at `;` line ends, comments dropped. Migrations contain no `;` inside
/// string literals.
fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(";\n").map(|s| s.trim()).filter(|s| {
        s.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
    })
}

/// A stored Unix-millisecond time as a timestamp (the schema keeps every time so).
pub(crate) fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A database URL without its password, for messages (and for the binary's).
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &base[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        // libpq and sqlx also take the password (and a client key's passphrase) as a query parameter.
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _))
                    if key.eq_ignore_ascii_case("password")
                        || key.eq_ignore_ascii_case("sslpassword") =>
                {
                    format!("{key}=***")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://kuzet:s3cret@db:5432/kuzet"),
            "postgres://kuzet:***@db:5432/kuzet"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(
            redact("postgres://kuzet@db/kuzet?sslmode=require&password=s3cret&Password=again"),
            "postgres://kuzet@db/kuzet?sslmode=require&password=***&Password=***"
        );
        assert_eq!(
            redact("postgres://u:p@db/k?password=q"),
            "postgres://u:***@db/k?password=***"
        );
    }

    #[test]
    fn migration_files_split_into_statements() {
        for m in MIGRATIONS {
            let n = statements(m.sqlite).count();
            assert_eq!(n, statements(m.postgres).count(), "{}", m.name);
            assert!(n >= 1, "{}: no statement", m.name);
        }
    }
}
