//! Files kept as evidence of an incident (R12 (7)): uploaded as the request body, hashed (SHA-256) while they are
//! written, stored write-once under their digest in `DATA_DIR/evidence/<tenant>/` (`docs/formats/evidence-files.md`),
//! their digest sealed by the attachment's audit record; every download hashes the bytes again and refuses a file
//! that no longer matches.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use jiff::Timestamp;
use kuzet_db::EvidenceFile;
use kuzet_model::access::Permission;
use kuzet_model::audit::Outcome;
use schemars::JsonSchema;
use serde::Serialize;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use crate::ApiError;
use crate::auth::noted;
use crate::contacts::tenant_param;
use crate::incidents::incident_id;
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

/// The largest file kept as evidence (the HTTP listener's own body limit may be lower).
pub(crate) const MAX_EVIDENCE_FILE: u64 = 256 << 20;

/// A file kept as evidence.
#[derive(Serialize, JsonSchema)]
pub(crate) struct EvidenceFileView {
    /// SHA-256 of the bytes, lowercase hex: the file's name in the store and what every read is checked against.
    sha256: String,
    name: String,
    size: u64,
    added_by: String,
    #[schemars(with = "String")]
    added: Timestamp,
    reason: String,
}

impl From<&EvidenceFile> for EvidenceFileView {
    fn from(f: &EvidenceFile) -> Self {
        Self {
            sha256: f.sha256.clone(),
            name: f.name.clone(),
            size: f.size,
            added_by: f.added_by.clone(),
            added: f.added,
            reason: f.reason.clone(),
        }
    }
}

/// `DATA_DIR/evidence/<tenant>`: beside the archive, outside it.
fn tenant_dir(state: &ApiState, tenant: &kuzet_model::TenantId) -> PathBuf {
    let archive = &state.inner.archive_dir;
    archive
        .parent()
        .unwrap_or(archive)
        .join("evidence")
        .join(tenant.as_str())
}

fn storage(e: std::io::Error) -> ApiError {
    ApiError::internal("evidence store", e)
}

/// Writes the body to a new file in `dir` while hashing it: (temporary path, digest, size). Refuses a body over
/// [`MAX_EVIDENCE_FILE`] and removes what it wrote.
async fn receive(dir: &FsPath, body: Body) -> Result<(PathBuf, String, u64), ApiError> {
    tokio::fs::create_dir_all(dir).await.map_err(storage)?;
    let temporary = dir.join(format!(".upload-{}", uuid_like()));
    let mut file = tokio::fs::File::create(&temporary).await.map_err(storage)?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    let written: Result<(), ApiError> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("request body: {e}")))?;
            size += chunk.len() as u64;
            if size > MAX_EVIDENCE_FILE {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("evidence file: larger than {MAX_EVIDENCE_FILE} bytes"),
                ));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(storage)?;
        }
        file.sync_all().await.map_err(storage)
    }
    .await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(e);
    }
    Ok((temporary, hex(&hasher.finalize()), size))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A name for a temporary file nobody else picks: the process, the time and a counter.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `POST …/incidents/{incident}/evidence/files?name=…&reason=…` with the file as the body.
pub(crate) async fn attach(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = tenant_param(&t)?;
    let id = incident_id(id)?;
    let now = state.now();
    let name = query
        .get("name")
        .map(|n| n.trim())
        .unwrap_or_default()
        .to_owned();
    let reason = query
        .get("reason")
        .map(|r| r.trim())
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() || reason.is_empty() {
        return Err(ApiError::bad_request(
            "evidence file: the query needs `name` (the file's name) and `reason` (why it is kept)",
        ));
    }
    // The incident must exist in this tenant before anything is written.
    let read = a
        .principal
        .scope_for(Permission::IncidentsRead, &tenant, now)
        .map_err(|e| ApiError::forbidden(e.to_string()))?;
    state.db().incident(&read, &tenant, &id).await?;
    let dir = tenant_dir(&state, &tenant);
    let (temporary, sha256, size) = receive(&dir, body).await?;
    let stored = dir.join(&sha256);
    // Write-once: the same bytes already stored stay as they are.
    if tokio::fs::try_exists(&stored).await.map_err(storage)? {
        tokio::fs::remove_file(&temporary).await.map_err(storage)?;
    } else {
        tokio::fs::rename(&temporary, &stored)
            .await
            .map_err(storage)?;
        // The new name is durable only once the directory is.
        let directory = tokio::fs::File::open(&dir).await.map_err(storage)?;
        directory.sync_all().await.map_err(storage)?;
    }
    let file = EvidenceFile {
        sha256: sha256.clone(),
        name,
        size,
        added_by: a.principal.user().to_string(),
        added: now,
        reason,
    };
    state
        .db()
        .attach_file(a.scope()?, &tenant, &id, &file, now)
        .await?;
    Ok(noted(
        (StatusCode::CREATED, Json(EvidenceFileView::from(&file))),
        AuditNote {
            object: Some(format!("incident:{id}")),
            // The digest sealed in the audit trail: what the file must hash to for ever.
            detail: Some(format!(
                "file `{}` kept as evidence: sha256 {sha256}, {size} bytes: {}",
                file.name, file.reason
            )),
            ..AuditNote::default()
        },
    ))
}

/// `GET …/evidence/files/{sha256}`: the bytes, hashed again first; a file that no longer hashes to its digest is
/// refused (409) and the refusal audited. Each download is recorded in the chain of custody.
pub(crate) async fn download(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((t, id, sha256)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let tenant = tenant_param(&t)?;
    let id = incident_id(id)?;
    let scope = a.scope()?;
    let files = state.db().evidence_files(scope, &tenant, &id).await?;
    let Some(file) = files.iter().find(|f| f.sha256 == sha256) else {
        return Err(ApiError::not_found(format!(
            "evidence file {sha256} of incident `{id}`"
        )));
    };
    let bytes = tokio::fs::read(tenant_dir(&state, &tenant).join(&file.sha256))
        .await
        .map_err(|e| ApiError::internal("evidence store", format!("file {sha256}: {e}")))?;
    let actual = hex(&sha2::Sha256::digest(&bytes));
    if actual != file.sha256 {
        return Ok(noted(
            ApiError::new(
                StatusCode::CONFLICT,
                "evidence_altered",
                format!(
                    "evidence file `{}` no longer matches its sealed digest {} (it hashes to {actual}): it was \
                     changed on disk and is not served",
                    file.name, file.sha256
                ),
            ),
            AuditNote {
                object: Some(format!("incident:{id}")),
                detail: Some(format!(
                    "file {} altered on disk: hashes to {actual}",
                    file.sha256
                )),
                outcome: Some(Outcome::Failure),
                ..AuditNote::default()
            },
        ));
    }
    state
        .db()
        .record_custody(
            scope,
            &tenant,
            &id,
            "accessed",
            &format!("file {} downloaded through the API", file.name),
            state.now(),
        )
        .await?;
    let encoded: String = file
        .name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok(noted(
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            bytes,
        ),
        AuditNote {
            object: Some(format!("incident:{id}")),
            detail: Some(format!("file {} ({}) downloaded", file.name, file.sha256)),
            ..AuditNote::default()
        },
    ))
}
