//! The relational store in the binary: opening it with the configuration's roles and policy, applying the
//! configuration's tenants at start-up, creating the first administrator, and the audit trail on the command line.

use anyhow::{Context, Result};
use jiff::Timestamp;
use kuzet_api::{SealedAuditRecord, WalAudit};
use kuzet_db::Db;
use kuzet_ingest::IdGenerator;
use kuzet_model::audit::{Actor, AuditFilter, AuditRecord, Outcome};
use kuzet_model::{Directory, TenantId, UserId};

use crate::config::Config;

pub async fn open_db(config: &Config) -> Result<Db> {
    let url = config.database_url();
    if url.starts_with("sqlite://") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "data directory {}: cannot create",
                config.data_dir.display()
            )
        })?;
    }
    Ok(Db::connect(&url, config.role_catalog()?, config.auth_policy()?).await?)
}

/// Makes the database hold the configuration file's tenants, facilities and sources, and returns the directory
/// the listeners attribute with (the file's and those created through the API).
pub async fn apply_directory(db: &Db, config: &Config) -> Result<Directory> {
    db.system_apply_directory(&config.directory()?, Timestamp::now())
        .await
        .context("applying the configuration's tenants to the database")?;
    Ok(db.system_load_directory().await?)
}

/// The directory `serve` attributes with — the configuration file's tenants and sources and those made through
/// the API — for the commands that run without the server (`ingest`, `export`).
pub fn load_directory(config: &Config) -> Result<Directory> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    runtime.block_on(async {
        let db = open_db(config).await?;
        apply_directory(&db, config).await
    })
}

/// An audit record of something done on the command line (by whoever holds the data directory).
pub fn cli_record(action: &str, object: String, detail: String) -> AuditRecord {
    process_record(Timestamp::now(), "cli", action, Outcome::Success)
        .object(object)
        .detail(detail)
        .bounded()
}

/// An audit record of something the process did at `at` on its own, through `via` (the task: `cli`, `notify`,
/// `exchange`, `hub`): no user, no address.
pub fn process_record(at: Timestamp, via: &str, action: &str, outcome: Outcome) -> AuditRecord {
    AuditRecord::new(
        at,
        Actor {
            user: None,
            via: via.into(),
            address: None,
        },
        action,
        outcome,
    )
}

/// `kuzet init`, database part: migrations, the configuration's tenants, and the first `isoc-admin` with a
/// one-time password printed once. The creation is sealed in the audit trail. All or nothing: the data directory
/// is locked and the store opened before the administrator is created, and if sealing its record fails the
/// administrator is removed again, so a failed `init` can simply be run again.
pub fn init_database(config: &Config) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let admin = UserId::new(config.auth.bootstrap_admin.as_str())?;
    let db = runtime.block_on(async {
        let db = open_db(config).await?;
        apply_directory(&db, config).await?;
        anyhow::Ok(db)
    })?;
    println!(
        "database:       {}",
        kuzet_db::redact(&config.database_url())
    );
    if runtime.block_on(db.user_count())? > 0 {
        println!("users:          already present; no administrator created");
        return Ok(());
    }
    let (_lock, store) = crate::serve::open_store_locked(config)?;
    let Some(password) = runtime.block_on(db.system_bootstrap_admin(&admin, Timestamp::now()))?
    else {
        println!("users:          already present; no administrator created");
        return Ok(store.shutdown()?);
    };
    let audit = WalAudit::new(store.wal(), IdGenerator::new()?);
    let record = cli_record(
        "user.bootstrap",
        format!("user:{admin}"),
        "first isoc-admin created by `kuzet init`".into(),
    );
    let sealed = store
        .wal()
        .append_blocking(vec![audit.raw_event(&record)])
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(store.shutdown()?));
    if let Err(e) = sealed {
        runtime
            .block_on(db.system_undo_bootstrap_admin(&admin))
            .context("removing the administrator whose creation could not be audited")?;
        return Err(e.context("sealing the audit record of the first administrator; nothing was created, run `kuzet init` again"));
    }
    println!(
        "first administrator: `{admin}` with one-time password {password}\n\
         (shown once: log in, change it and enrol multi-factor authentication)"
    );
    Ok(())
}

/// The demo's people, made at its first run with one-time passwords printed once (each sealed as `user.demo`):
/// the administrator sees no organization's content, so a newcomer needs an analyst to triage and an owner to
/// see what an organization sees. `(id, display name, role, tenants)`.
pub fn demo_users(config: &Config, users: &[(&str, &str, &str, &[&str])]) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let db = runtime.block_on(open_db(config))?;
    let (_lock, store) = crate::serve::open_store_locked(config)?;
    let audit = WalAudit::new(store.wal(), IdGenerator::new()?);
    let mut made = Vec::new();
    for (id, name, role, tenants) in users {
        let user = kuzet_db::NewUser {
            id: UserId::new(*id)?,
            display_name: (*name).to_owned(),
            roles: vec![(*role).to_owned()],
            tenants: tenants
                .iter()
                .map(|t| TenantId::new(*t))
                .collect::<Result<_, _>>()?,
        };
        if let Some(password) = runtime.block_on(db.system_demo_user(&user, Timestamp::now()))? {
            let record = cli_record(
                "user.demo",
                format!("user:{id}"),
                format!("demo {role} created by `serve --demo`"),
            );
            store
                .wal()
                .append_blocking(vec![audit.raw_event(&record)])
                .map_err(anyhow::Error::from)?;
            made.push(format!(
                "demo {role}: `{id}` with one-time password {password}"
            ));
        }
    }
    store.shutdown()?;
    for line in made {
        println!("{line}");
    }
    Ok(())
}

/// `kuzet audit`: the sealed audit trail, filtered, as a table or NDJSON.
pub fn print_audit(config: &Config, filter: &AuditFilter, json: bool) -> Result<()> {
    let records: Vec<SealedAuditRecord> =
        kuzet_api::read_audit(&config.archive_dir(), filter).context("reading the audit trail")?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for SealedAuditRecord { event_id, record } in &records {
        if json {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({"event_id": event_id, "record": record}),
            )?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{}  {:<8} {:<26} {:<12} {:<14} {:<28} {}  [{event_id}]",
                kuzet_model::time::kz_local(record.at).strftime("%Y-%m-%d %H:%M:%S"),
                record.outcome.as_str(),
                record.action,
                record.actor.user.as_ref().map_or("-", |u| u.as_str()),
                record.tenant.as_ref().map_or("-", TenantId::as_str),
                record.object.as_deref().unwrap_or("-"),
                record.detail.as_deref().unwrap_or(""),
            )?;
        }
    }
    if !json {
        writeln!(
            out,
            "{} record(s); times in Kazakhstan time (UTC+5)",
            records.len()
        )?;
    }
    Ok(())
}
