//! Tenant content (one event with its seal proof, exports), the audit trail, and the service status.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use kuzet_model::audit::{AuditFilter, Outcome};
use kuzet_model::{EventId, TenantId, UserId};

use crate::ApiError;
use crate::audit::read_audit_newest;
use crate::auth::noted;
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

fn event_id(text: &str) -> Result<EventId, ApiError> {
    text.parse()
        .map_err(|e: kuzet_model::ModelError| ApiError::not_found(e.to_string()))
}

/// The tenants with a log in the archive that `scope` reaches (never the audit trail's).
pub(crate) fn archive_tenants(
    state: &ApiState,
    scope: &kuzet_model::access::Scope,
) -> Result<Vec<TenantId>, ApiError> {
    let dir = &state.inner.archive_dir;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ApiError::internal("archive", e)),
    };
    let mut tenants: Vec<TenantId> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| TenantId::new(e.file_name().to_string_lossy().into_owned()).ok())
        .filter(|t| !t.is_reserved() && scope.permits(t))
        .collect();
    tenants.sort();
    Ok(tenants)
}

/// Runs an archive lookup on the blocking pool, at most `ARCHIVE_READERS` at once.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &ApiState,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = Arc::clone(&state.inner.archive_readers)
        .acquire_owned()
        .await
        .map_err(|e| ApiError::internal("archive reader", e))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| ApiError::internal("archive reader", e))?
}

/// An open JSON object: an ECS event (any fields), an inclusion proof or an audit record, each specified in its
/// format document (`docs/formats/`).
pub(crate) type Object = serde_json::Map<String, serde_json::Value>;

/// A sealed event and the proof that it is in the archive (`docs/formats/archive.md`, "Inclusion proof").
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct EventView {
    #[schemars(with = "Object")]
    event: kuzet_model::Event,
    #[schemars(with = "Object")]
    proof: kuzet_store::InclusionProof,
    /// The tenant's assets the event names by host name or address.
    assets: Vec<crate::advisories::LinkedAssetView>,
}

/// A page of the audit trail, newest first, and how many records matched the filter.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct AuditPage {
    matched: u64,
    records: Vec<AuditEntry>,
}

/// One sealed audit record (`docs/formats/audit.md`) and the id it is sealed under.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct AuditEntry {
    #[schemars(with = "String")]
    event_id: kuzet_model::EventId,
    #[schemars(with = "Object")]
    record: kuzet_model::audit::AuditRecord,
}

/// The service's state without content: the database, and the counters of the running service.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct StatusView {
    database: DatabaseStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<serde_json::Value>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct DatabaseStatus {
    /// `sqlite` or `postgres`.
    backend: String,
    schema_version: i64,
}

/// The API's OpenAPI 3.1 description, generated from the route table.
pub(crate) async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// One sealed event with its inclusion proof, searched only in the tenants the caller reaches: an id of another
/// tenant's event is "not found".
pub(crate) async fn event(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let tenants = archive_tenants(&state, a.scope()?)?;
    let dir = state.inner.archive_dir.clone();
    let proof = blocking(&state, move || {
        for tenant in &tenants {
            if let Some(proof) = kuzet_store::prove_in(&dir, tenant, id)
                .map_err(|e| ApiError::internal("archive", e))?
            {
                return Ok(proof);
            }
        }
        Err(ApiError::not_found(format!("event {id}: not found")))
    })
    .await?;
    let event = proof
        .event(&*state.inner.normalizer)
        .map_err(|e| ApiError::internal("archive", e))?;
    let tenant = event.tenant.clone();
    // Reading an event kept as evidence is an access to the evidence: its chain of custody says so, or the event
    // is not shown.
    state
        .db()
        .record_event_access(
            a.scope()?,
            &tenant,
            &id.to_string(),
            "event read through the API",
            state.now(),
        )
        .await?;
    let assets = state
        .db()
        .event_assets(a.scope()?, &tenant, &kuzet_cases::observed_in(&event))
        .await?
        .iter()
        .map(crate::advisories::LinkedAssetView::from)
        .collect();
    Ok(noted(
        Json(EventView {
            event,
            proof,
            assets,
        }),
        AuditNote {
            object: Some(format!("event:{id}")),
            tenant: Some(tenant),
            ..AuditNote::default()
        },
    ))
}

/// A tenant's sealed events as ECS NDJSON, streamed; `since`/`until` bound `@timestamp`.
pub(crate) async fn export(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let tenant = TenantId::new(tenant.as_str()).map_err(|e| ApiError::not_found(e.to_string()))?;
    a.scope()?
        .check(&tenant)
        .map_err(|_| ApiError::not_found(format!("tenant `{tenant}`: not found")))?;
    let bound = |name: &str| -> Result<Option<Timestamp>, ApiError> {
        query
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|e| ApiError::bad_request(format!("{name} `{v}`: {e}")))
            })
            .transpose()
    };
    let (since, until) = (bound("since")?, bound("until")?);
    let dir = state.inner.archive_dir.clone();
    let normalizer = state.inner.normalizer.clone();
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
    let reader_tenant = tenant.clone();
    tokio::task::spawn_blocking(move || {
        if !dir.join(reader_tenant.as_str()).is_dir() {
            return;
        }
        let mut chunk = Vec::with_capacity(64 << 10);
        for event in kuzet_store::read_events(&dir, &reader_tenant, normalizer) {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            };
            if since.is_some_and(|s| event.timestamp < s)
                || until.is_some_and(|u| event.timestamp >= u)
            {
                continue;
            }
            if serde_json::to_writer(&mut chunk, &event).is_err() {
                continue;
            }
            chunk.push(b'\n');
            if chunk.len() >= 64 << 10
                && sender
                    .blocking_send(Ok(std::mem::take(&mut chunk).into()))
                    .is_err()
            {
                return;
            }
        }
        if !chunk.is_empty() {
            let _ = sender.blocking_send(Ok(chunk.into()));
        }
    });
    let stream = futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    });
    Ok(noted(
        (
            [(header::CONTENT_TYPE, "application/x-ndjson")],
            Body::from_stream(stream),
        ),
        AuditNote {
            object: Some(format!("tenant:{tenant}")),
            detail: Some(format!("export since {since:?} until {until:?}")),
            ..AuditNote::default()
        },
    ))
}

/// Sealed logs are not deleted through the API, by anyone: the permission is held by no role, so the guard refuses
/// first; this answer stands behind it.
pub(crate) async fn purge() -> Response {
    noted(
        ApiError::forbidden(
            "sealed logs cannot be deleted: they leave the archive only by the retention policy after their legal \
             time (R3, R4)",
        ),
        AuditNote {
            outcome: Some(Outcome::Refused),
            ..AuditNote::default()
        },
    )
}

/// Audit records with filters: `user`, `action` (or a prefix ending in `.`), `outcome`, `tenant`, `since`, `until`,
/// newest first, at most `limit` (default 100, at most 1000).
pub(crate) async fn audit(
    State(state): State<ApiState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let bad = |name: &str, v: &str, e: &dyn std::fmt::Display| {
        ApiError::bad_request(format!("{name} `{v}`: {e}"))
    };
    let mut filter = AuditFilter::default();
    let mut limit = 100usize;
    for (name, value) in &query {
        match name.as_str() {
            "user" => {
                filter.user = Some(UserId::new(value.as_str()).map_err(|e| bad(name, value, &e))?)
            }
            "action" => filter.action = Some(value.clone()),
            "outcome" => {
                filter.outcome = Some(match value.as_str() {
                    "success" => Outcome::Success,
                    "failure" => Outcome::Failure,
                    "refused" => Outcome::Refused,
                    _ => return Err(bad(name, value, &"success, failure or refused")),
                })
            }
            "tenant" => {
                filter.tenant =
                    Some(TenantId::new(value.as_str()).map_err(|e| bad(name, value, &e))?)
            }
            "since" => filter.since = Some(value.parse().map_err(|e| bad(name, value, &e))?),
            "until" => filter.until = Some(value.parse().map_err(|e| bad(name, value, &e))?),
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=1000).contains(l))
                    .ok_or_else(|| bad(name, value, &"a number from 1 to 1000"))?
            }
            other => return Err(ApiError::bad_request(format!("unknown filter `{other}`"))),
        }
    }
    let dir = state.inner.archive_dir.clone();
    let (records, matched) = blocking(&state, move || {
        read_audit_newest(&dir, &filter, limit).map_err(|e| ApiError::internal("audit trail", e))
    })
    .await?;
    let records = records
        .into_iter()
        .map(|r| AuditEntry {
            event_id: r.event_id,
            record: r.record,
        })
        .collect();
    Ok(Json(AuditPage {
        matched: matched as u64,
        records,
    })
    .into_response())
}

/// The inclusion proof of one audit record against a signed checkpoint.
pub(crate) async fn audit_proof(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let dir = state.inner.archive_dir.clone();
    let proof = blocking(&state, move || {
        kuzet_store::prove_in(&dir, &TenantId::audit_trail(), id)
            .map_err(|e| ApiError::internal("audit trail", e))?
            .ok_or_else(|| {
                ApiError::not_found(format!("audit record {id}: not found (or not sealed yet)"))
            })
    })
    .await?;
    Ok(Json(proof).into_response())
}

/// Counters of the service, no content.
pub(crate) async fn status(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let db = state.db();
    let status = StatusView {
        database: DatabaseStatus {
            backend: format!("{:?}", db.backend()).to_lowercase(),
            schema_version: db.schema_version().await?,
        },
        service: state.inner.status.as_ref().map(|extra| extra()),
    };
    Ok((StatusCode::OK, Json(status)).into_response())
}
