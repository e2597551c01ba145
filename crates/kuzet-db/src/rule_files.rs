//! Sigma rule files imported into the database (`kuzet rules import`), versioned: importing a changed file adds a
//! version, an unchanged one adds nothing, and detection runs the latest version of each. The text is kept whole,
//! so any version can be read back exactly as it was imported.

use jiff::Timestamp;

use kuzet_model::access::{Permission, Scope};

use crate::backend::{on_pool, ts};
use crate::directory::require_permission;
use crate::{Db, DbError};

/// One imported file, at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// Where it came from, as the importer named it (a path relative to the imported directory).
    pub name: String,
    pub version: i64,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    pub text: String,
    pub imported_by: String,
    pub imported: Timestamp,
}

/// What one import did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    New,
    Changed { version: i64 },
    Unchanged,
}

type RuleFileRow = (String, i64, String, String, String, i64);

fn rule_file((name, version, sha256, text, imported_by, imported): RuleFileRow) -> RuleFile {
    RuleFile {
        name,
        version,
        sha256,
        text,
        imported_by,
        imported: ts(imported),
    }
}

/// Longest rule file accepted through the API, in bytes.
pub const MAX_RULE_FILE_BYTES: usize = 1 << 20;

impl Db {
    /// Imports one rule file for a person (for [`Permission::RulesManage`]): as
    /// [`Db::system_import_rule_file`], recorded as imported by the scope's user. The name is a relative path of
    /// 1–300 characters without `..`; the text at most [`MAX_RULE_FILE_BYTES`].
    pub async fn import_rule_file(
        &self,
        scope: &Scope,
        name: &str,
        text: &str,
        now: Timestamp,
    ) -> Result<ImportOutcome, DbError> {
        require_permission(scope, Permission::RulesManage)?;
        let bad_name = name.is_empty()
            || name.chars().count() > 300
            || name.starts_with('/')
            || name.split('/').any(|part| part == ".." || part.is_empty())
            || name.chars().any(char::is_control);
        if bad_name {
            return Err(DbError::invalid(
                format!(
                    "rule file name `{}`",
                    name.chars().take(80).collect::<String>()
                ),
                "a relative path of 1 to 300 characters, without `..` or empty parts",
            ));
        }
        if text.len() > MAX_RULE_FILE_BYTES || text.trim().is_empty() {
            return Err(DbError::invalid(
                format!("rule file `{name}`"),
                format!("{} bytes; give 1 to {MAX_RULE_FILE_BYTES}", text.len()),
            ));
        }
        self.system_import_rule_file(name, text, scope.user().as_str(), now)
            .await
    }

    /// The latest version of every imported file (for [`Permission::RulesManage`]).
    pub async fn rule_files(&self, scope: &Scope) -> Result<Vec<RuleFile>, DbError> {
        require_permission(scope, Permission::RulesManage)?;
        self.system_rule_files().await
    }

    /// Stores `text` as the latest version of the file `name` unless that version has the same text.
    pub async fn system_import_rule_file(
        &self,
        name: &str,
        text: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<ImportOutcome, DbError> {
        let sha256 = crate::sha256_hex(text);
        let latest: Option<(i64, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT version, sha256 FROM rule_files WHERE name = $1 ORDER BY version DESC LIMIT 1")
            .bind(name).fetch_optional(pool).await.map_err(DbError::query("rule file"))?);
        let (version, outcome) = match latest {
            Some((_, same)) if same == sha256 => return Ok(ImportOutcome::Unchanged),
            Some((version, _)) => (
                version + 1,
                ImportOutcome::Changed {
                    version: version + 1,
                },
            ),
            None => (1, ImportOutcome::New),
        };
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO rule_files (name, version, sha256, text, imported_by, imported_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(name).bind(version).bind(&sha256).bind(text).bind(by).bind(now.as_millisecond())
            .execute(pool).await.map(|_| ()).map_err(DbError::query("rule file"))?);
        Ok(outcome)
    }

    /// The latest version of every imported file, by name.
    pub async fn system_rule_files(&self) -> Result<Vec<RuleFile>, DbError> {
        let rows: Vec<RuleFileRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT f.name, f.version, f.sha256, f.text, f.imported_by, f.imported_ms FROM rule_files f \
             WHERE f.version = (SELECT MAX(g.version) FROM rule_files g WHERE g.name = f.name) ORDER BY f.name")
            .fetch_all(pool).await.map_err(DbError::query("rule files"))?);
        Ok(rows.into_iter().map(rule_file).collect())
    }

    /// Every version of one file, oldest first.
    pub async fn system_rule_file_versions(&self, name: &str) -> Result<Vec<RuleFile>, DbError> {
        let rows: Vec<RuleFileRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT name, version, sha256, text, imported_by, imported_ms FROM rule_files WHERE name = $1 ORDER BY version")
            .bind(name).fetch_all(pool).await.map_err(DbError::query("rule file versions"))?);
        Ok(rows.into_iter().map(rule_file).collect())
    }
}
