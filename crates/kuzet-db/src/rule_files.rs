//! Sigma rule files imported into the database (`kuzet rules import`), versioned: importing a changed file adds a
//! version, an unchanged one adds nothing, and detection runs the latest version of each. The text is kept whole,
//! so any version can be read back exactly as it was imported.

use jiff::Timestamp;

use crate::backend::{on_pool, ts};
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

impl Db {
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
