//! Tenants, facilities, sources, users, API tokens and NCCIS access grants.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use kuzet_db::{
    ApiTokenRecord, NewApiToken, NewGrant, NewSource, NewUser, TenantRecord, UserRecord,
};
use kuzet_model::access::AccessGrant;
use kuzet_model::audit::Outcome;
use kuzet_model::{
    Facility, FacilityClass, FacilityId, FormatHint, ObjectId, Retention, Source, SourceId,
    SourceIdentity, Tenant, TenantId, UserId,
};
use serde::Deserialize;

use crate::ApiError;
use crate::auth::{body, noted};
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

type Body<T> = Result<Json<T>, JsonRejection>;

fn id<T>(kind: &str, parsed: Result<T, kuzet_model::ModelError>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::not_found(format!("{kind}: {e}")))
}

fn tenant_param(tenant: &str) -> Result<TenantId, ApiError> {
    id("tenant", TenantId::new(tenant))
}

/// A JSON array of `items`, each rendered by `to_json`.
fn json_list<T>(items: &[T], to_json: fn(&T) -> serde_json::Value) -> Response {
    Json(items.iter().map(to_json).collect::<Vec<_>>()).into_response()
}

fn note(object: String, detail: impl Into<String>) -> AuditNote {
    AuditNote {
        object: Some(object),
        detail: Some(detail.into()),
        ..AuditNote::default()
    }
}

fn tenant_json(r: &TenantRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.tenant.id,
        "name": r.tenant.name,
        "retention": {"hot_days": r.retention.hot_days, "archive_years": r.retention.archive_years},
    })
}

pub(crate) async fn tenants(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().tenants(a.scope()?).await?;
    Ok(json_list(&list, tenant_json))
}

pub(crate) async fn tenant(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let record = state
        .db()
        .tenant(a.scope()?, &tenant_param(&tenant)?)
        .await?;
    Ok(Json(tenant_json(&record)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    id: String,
    name: String,
    #[serde(default)]
    hot_days: Option<u32>,
    #[serde(default)]
    archive_years: Option<u32>,
}

pub(crate) async fn create_tenant(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Body<CreateTenant>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let defaults = Retention::default();
    let record = TenantRecord {
        tenant: Tenant {
            id: TenantId::new(request.id.as_str())?,
            name: request.name,
        },
        retention: Retention {
            hot_days: request.hot_days.unwrap_or(defaults.hot_days),
            archive_years: request.archive_years.unwrap_or(defaults.archive_years),
        },
    };
    let object = format!("tenant:{}", record.tenant.id);
    match state
        .db()
        .create_tenant(a.scope()?, &record, state.now())
        .await
    {
        Ok(_) => Ok(noted(
            (StatusCode::CREATED, Json(tenant_json(&record))),
            note(object, "created"),
        )),
        Err(e @ kuzet_db::DbError::Invalid { .. }) => Ok(legal_floor_refusal(e, object)),
        Err(e) => Err(e.into()),
    }
}

/// A retention below the legal floor: refused whoever asks, and recorded as a refusal with the requirement.
fn legal_floor_refusal(e: kuzet_db::DbError, object: String) -> Response {
    let detail = e.to_string();
    noted(
        ApiError::from(e),
        AuditNote {
            object: Some(object),
            detail: Some(detail),
            outcome: Some(Outcome::Refused),
            ..AuditNote::default()
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetRetention {
    hot_days: u32,
    archive_years: u32,
}

pub(crate) async fn set_retention(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    json: Body<SetRetention>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let tenant = tenant_param(&tenant)?;
    let retention = Retention {
        hot_days: request.hot_days,
        archive_years: request.archive_years,
    };
    let object = format!("tenant:{tenant}");
    match state
        .db()
        .set_retention(a.scope()?, &tenant, retention)
        .await
    {
        Ok(()) => Ok(noted(
            StatusCode::NO_CONTENT,
            note(
                object,
                format!(
                    "retention set to {} hot days, {} archive years",
                    retention.hot_days, retention.archive_years
                ),
            ),
        )),
        Err(e @ kuzet_db::DbError::Invalid { .. }) => Ok(legal_floor_refusal(e, object)),
        Err(e) => Err(e.into()),
    }
}

fn facility_json(f: &Facility) -> serde_json::Value {
    serde_json::json!({
        "id": f.id, "tenant": f.tenant, "name": f.name, "class": f.class.number(), "critical": f.critical,
    })
}

pub(crate) async fn facilities(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let list = state
        .db()
        .facilities(a.scope()?, &tenant_param(&tenant)?)
        .await?;
    Ok(json_list(&list, facility_json))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateFacility {
    id: String,
    name: String,
    class: u8,
    #[serde(default)]
    critical: bool,
}

pub(crate) async fn create_facility(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    json: Body<CreateFacility>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let facility = Facility {
        id: FacilityId::new(request.id.as_str())?,
        tenant: tenant_param(&tenant)?,
        name: request.name,
        class: FacilityClass::from_number(request.class)?,
        critical: request.critical,
    };
    state.db().create_facility(a.scope()?, &facility).await?;
    Ok(noted(
        (StatusCode::CREATED, Json(facility_json(&facility))),
        note(format!("facility:{}", facility.id), "created"),
    ))
}

fn source_json(s: &Source) -> serde_json::Value {
    let identities: Vec<_> = s
        .identities
        .iter()
        .map(|i| match i {
            SourceIdentity::Peer(net) => serde_json::json!({"peer": net.to_string()}),
            SourceIdentity::TlsCommonName(cn) => serde_json::json!({"tls_common_name": cn}),
            SourceIdentity::TlsFingerprint(fp) => serde_json::json!({"tls_fingerprint": fp}),
            // Only that a token exists: even its digest stays inside.
            SourceIdentity::TokenSha256(_) => serde_json::json!({"token": true}),
        })
        .collect();
    serde_json::json!({
        "id": s.id, "tenant": s.tenant, "facility": s.facility, "name": s.name, "format": s.format.as_str(),
        "expected_interval_secs": s.expected_interval_secs, "identities": identities,
    })
}

pub(crate) async fn sources(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let list = state
        .db()
        .sources(a.scope()?, &tenant_param(&tenant)?)
        .await?;
    Ok(json_list(&list, source_json))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSource {
    id: String,
    name: String,
    #[serde(default)]
    facility: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    expected_interval_secs: Option<u64>,
}

pub(crate) async fn create_source(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    json: Body<CreateSource>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let format = request.format.as_deref().unwrap_or("auto");
    let source = NewSource {
        id: SourceId::new(request.id.as_str())?,
        tenant: tenant_param(&tenant)?,
        facility: request.facility.map(FacilityId::new).transpose()?,
        name: request.name,
        format: FormatHint::parse_name(format).ok_or_else(|| {
            ApiError::bad_request(format!(
                "format `{format}`: auto, syslog, json, cef, leef, evtx or text"
            ))
        })?,
        expected_interval_secs: request.expected_interval_secs,
    };
    state.db().create_source(a.scope()?, &source).await?;
    state.directory_changed().await;
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(serde_json::json!({"id": source.id, "tenant": source.tenant})),
        ),
        note(format!("source:{}", source.id), "created"),
    ))
}

pub(crate) async fn create_source_token(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, source)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let tenant = tenant_param(&tenant)?;
    let source = id("source", SourceId::new(source))?;
    let token = state
        .db()
        .create_source_token(a.scope()?, &tenant, &source, state.now())
        .await?;
    state.directory_changed().await;
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "source": token.source,
                "token": token.secret,
                // What revokes it: DELETE …/sources/{source}/identities/token_sha256/{sha256}.
                "sha256": kuzet_db::sha256_hex(&token.secret),
            })),
        ),
        note(
            format!("source:{source}"),
            "machine token created (shown once)",
        ),
    ))
}

/// Revokes a machine token (`token_sha256`, the SHA-256 of its secret in hex, as answered when it was made) or a
/// certificate identity (`tls_fingerprint`, `tls_common_name`) of a source: the listeners refuse it at once.
pub(crate) async fn revoke_source_identity(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, source, kind, value)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let tenant = tenant_param(&tenant)?;
    let source = id("source", SourceId::new(source))?;
    if !matches!(
        kind.as_str(),
        "token_sha256" | "tls_fingerprint" | "tls_common_name"
    ) {
        return Err(ApiError::bad_request(format!(
            "identity kind `{kind}`: use token_sha256, tls_fingerprint or tls_common_name"
        )));
    }
    let value = if kind == "tls_common_name" {
        value
    } else {
        value.replace(':', "").to_ascii_lowercase()
    };
    state
        .db()
        .revoke_source_identity(a.scope()?, &tenant, &source, &kind, &value)
        .await?;
    state.directory_changed().await;
    Ok(noted(
        StatusCode::NO_CONTENT,
        note(
            format!("source:{source}"),
            format!("identity {kind} revoked"),
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddCertificate {
    #[serde(default)]
    fingerprint_sha256: Option<String>,
    #[serde(default)]
    common_name: Option<String>,
}

pub(crate) async fn add_source_certificate(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, source)): Path<(String, String)>,
    json: Body<AddCertificate>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let tenant = tenant_param(&tenant)?;
    let source = id("source", SourceId::new(source))?;
    let identity = match (request.fingerprint_sha256, request.common_name) {
        (Some(fp), None) => SourceIdentity::TlsFingerprint(
            fp.chars()
                .filter(|c| *c != ':')
                .collect::<String>()
                .to_ascii_lowercase(),
        ),
        (None, Some(cn)) if !cn.trim().is_empty() => SourceIdentity::TlsCommonName(cn),
        _ => {
            return Err(ApiError::bad_request(
                "request body: give exactly one of `fingerprint_sha256` and `common_name`",
            ));
        }
    };
    state
        .db()
        .add_source_certificate(a.scope()?, &tenant, &source, &identity, state.now())
        .await?;
    state.directory_changed().await;
    Ok(noted(
        StatusCode::CREATED,
        note(
            format!("source:{source}"),
            format!("certificate identity added: {identity:?}"),
        ),
    ))
}

fn user_json(u: &UserRecord) -> serde_json::Value {
    serde_json::json!({
        "id": u.id, "display_name": u.display_name, "roles": u.roles, "tenants": u.tenants,
        "mfa_enrolled": u.mfa_enrolled, "must_change_password": u.must_change_password,
        "failed_logins": u.failed_logins, "locked_until": u.locked_until, "disabled": u.disabled,
    })
}

pub(crate) async fn users(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().users(a.scope()?).await?;
    Ok(json_list(&list, user_json))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    roles: Vec<String>,
    #[serde(default)]
    tenants: Vec<String>,
}

pub(crate) async fn create_user(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Body<CreateUser>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let user = NewUser {
        id: UserId::new(request.id.as_str())?,
        display_name: request.display_name.unwrap_or_else(|| request.id.clone()),
        roles: request.roles,
        tenants: request
            .tenants
            .iter()
            .map(|t| TenantId::new(t.as_str()))
            .collect::<Result<_, _>>()?,
    };
    let password = state
        .db()
        .create_user(a.scope()?, &user, state.now())
        .await?;
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(serde_json::json!({"id": user.id, "one_time_password": password})),
        ),
        note(
            format!("user:{}", user.id),
            format!(
                "created with roles {} and tenants {:?}",
                user.roles.join(","),
                user.tenants
            ),
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetAccess {
    roles: Vec<String>,
    #[serde(default)]
    tenants: Vec<String>,
}

pub(crate) async fn set_user_access(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(user): Path<String>,
    json: Body<SetAccess>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let user = id("user", UserId::new(user))?;
    let tenants: Vec<TenantId> = request
        .tenants
        .iter()
        .map(|t| TenantId::new(t.as_str()))
        .collect::<Result<_, _>>()?;
    state
        .db()
        .set_user_access(a.scope()?, &user, &request.roles, &tenants)
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        note(
            format!("user:{user}"),
            format!("roles {}, tenants {:?}", request.roles.join(","), tenants),
        ),
    ))
}

macro_rules! user_action {
    ($name:ident, $method:ident, $detail:literal) => {
        pub(crate) async fn $name(
            State(state): State<ApiState>,
            Extension(a): Extension<Authed>,
            Path(user): Path<String>,
        ) -> Result<Response, ApiError> {
            let user = id("user", UserId::new(user))?;
            user_action!(@call state, a, user, $method);
            Ok(noted(StatusCode::NO_CONTENT, note(format!("user:{user}"), $detail)))
        }
    };
    (@call $state:ident, $a:ident, $user:ident, disable_user) => {
        $state.db().disable_user($a.scope()?, &$user, $state.now()).await?
    };
    (@call $state:ident, $a:ident, $user:ident, $method:ident) => {
        $state.db().$method($a.scope()?, &$user).await?
    };
}

user_action!(unlock_user, unlock_user, "unlocked");
user_action!(disable_user, disable_user, "disabled; its sessions ended");
user_action!(enable_user, enable_user, "enabled");

pub(crate) async fn reset_user(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let user = id("user", UserId::new(user))?;
    let password = state
        .db()
        .reset_credentials(a.scope()?, &user, state.now())
        .await?;
    Ok(noted(
        Json(serde_json::json!({"id": user, "one_time_password": password})),
        note(
            format!("user:{user}"),
            "password and MFA reset; sessions ended",
        ),
    ))
}

fn token_json(t: &ApiTokenRecord) -> serde_json::Value {
    serde_json::json!({
        "id": t.id, "name": t.name, "role": t.role, "tenants": t.tenants, "created": t.created,
        "expires": t.expires, "revoked": t.revoked, "last_used": t.last_used,
    })
}

pub(crate) async fn tokens(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().api_tokens(a.scope()?).await?;
    Ok(json_list(&list, token_json))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    name: String,
    role: String,
    #[serde(default)]
    tenants: Option<Vec<String>>,
    expires: Timestamp,
}

pub(crate) async fn create_token(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Body<CreateToken>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let token = NewApiToken {
        name: request.name,
        role: request.role,
        tenants: request
            .tenants
            .map(|ts| {
                ts.iter()
                    .map(|t| TenantId::new(t.as_str()))
                    .collect::<Result<_, _>>()
            })
            .transpose()?,
        expires: request.expires,
    };
    let (record, secret) = state
        .db()
        .create_api_token(&a.principal, a.scope()?, &token, state.now())
        .await?;
    let mut json = token_json(&record);
    json["token"] = serde_json::Value::String(secret);
    Ok(noted(
        (StatusCode::CREATED, Json(json)),
        note(
            format!("token:{}", record.id),
            format!("role {}, expires {}", record.role, record.expires),
        ),
    ))
}

pub(crate) async fn revoke_token(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let token = id("api token", ObjectId::new(token))?;
    state
        .db()
        .revoke_api_token(a.scope()?, &token, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        note(format!("token:{token}"), "revoked"),
    ))
}

fn grant_json(g: &AccessGrant) -> serde_json::Value {
    serde_json::json!({
        "id": g.id, "user": g.user, "tenant": g.tenant, "starts": g.starts, "ends": g.ends,
        "revoked": g.revoked, "reason": g.reason, "granted_by": g.granted_by,
    })
}

pub(crate) async fn grants(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().grants(a.scope()?).await?;
    Ok(json_list(&list, grant_json))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateGrant {
    user: String,
    tenant: String,
    #[serde(default)]
    starts: Option<Timestamp>,
    ends: Timestamp,
    reason: String,
}

pub(crate) async fn create_grant(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Body<CreateGrant>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let now = state.now();
    let grant = NewGrant {
        user: UserId::new(request.user.as_str())?,
        tenant: TenantId::new(request.tenant.as_str())?,
        starts: request.starts.unwrap_or(now),
        ends: request.ends,
        reason: request.reason,
    };
    let created = state.db().create_grant(a.scope()?, &grant, now).await?;
    Ok(noted(
        (StatusCode::CREATED, Json(grant_json(&created))),
        AuditNote {
            object: Some(format!("grant:{}", created.id)),
            tenant: Some(created.tenant.clone()),
            detail: Some(format!(
                "read access to tenant {} for {} until {}: {}",
                created.tenant, created.user, created.ends, created.reason
            )),
            ..AuditNote::default()
        },
    ))
}

pub(crate) async fn revoke_grant(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(grant): Path<String>,
) -> Result<Response, ApiError> {
    let grant = id("grant", ObjectId::new(grant))?;
    state
        .db()
        .revoke_grant(a.scope()?, &grant, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        note(format!("grant:{grant}"), "revoked"),
    ))
}
