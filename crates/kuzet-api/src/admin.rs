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
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::auth::{body, noted};
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

type Body<T> = Result<Json<T>, JsonRejection>;

fn id<T>(kind: &str, parsed: Result<T, kuzet_model::ModelError>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::not_found(format!("{kind}: {e}")))
}

pub(crate) fn tenant_param(tenant: &str) -> Result<TenantId, ApiError> {
    id("tenant", TenantId::new(tenant))
}

/// A JSON array of `items`, each as its view `V`.
fn json_list<'a, T: 'a, V: Serialize + From<&'a T>>(items: &'a [T]) -> Response {
    Json(items.iter().map(V::from).collect::<Vec<_>>()).into_response()
}

fn note(object: String, detail: impl Into<String>) -> AuditNote {
    AuditNote {
        object: Some(object),
        detail: Some(detail.into()),
        ..AuditNote::default()
    }
}

/// An organization served, with its retention.
#[derive(Serialize, JsonSchema)]
pub(crate) struct TenantView {
    #[schemars(with = "String")]
    id: TenantId,
    name: String,
    /// The sector of the economy (`energy`, `oil_gas`, …), when said.
    sector: Option<&'static str>,
    retention: RetentionView,
}

/// Days searchable online and years kept (legal floors 60 days and 3 years, R3).
#[derive(Serialize, JsonSchema)]
pub(crate) struct RetentionView {
    hot_days: u32,
    archive_years: u32,
}

impl From<&TenantRecord> for TenantView {
    fn from(r: &TenantRecord) -> Self {
        Self {
            id: r.tenant.id.clone(),
            name: r.tenant.name.clone(),
            sector: r.tenant.sector.map(kuzet_model::Sector::as_str),
            retention: RetentionView {
                hot_days: r.retention.hot_days,
                archive_years: r.retention.archive_years,
            },
        }
    }
}

pub(crate) async fn tenants(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().tenants(a.scope()?).await?;
    Ok(json_list::<_, TenantView>(&list))
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
    Ok(Json(TenantView::from(&record)).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    id: String,
    name: String,
    /// The sector of the economy: energy, oil_gas, telecom, finance, transport, healthcare, government, water,
    /// industry, education, agriculture or other.
    #[serde(default)]
    sector: Option<String>,
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
            sector: request
                .sector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(kuzet_model::Sector::parse)
                .transpose()?,
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
            (StatusCode::CREATED, Json(TenantView::from(&record))),
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

#[derive(Deserialize, JsonSchema)]
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

/// A facility of a tenant: its class (1–3) and whether it is critical infrastructure.
#[derive(Serialize, JsonSchema)]
pub(crate) struct FacilityView {
    #[schemars(with = "String")]
    id: FacilityId,
    #[schemars(with = "String")]
    tenant: TenantId,
    name: String,
    class: u8,
    critical: bool,
}

impl From<&Facility> for FacilityView {
    fn from(f: &Facility) -> Self {
        Self {
            id: f.id.clone(),
            tenant: f.tenant.clone(),
            name: f.name.clone(),
            class: f.class.number(),
            critical: f.critical,
        }
    }
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
    Ok(json_list::<_, FacilityView>(&list))
}

#[derive(Deserialize, JsonSchema)]
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
        (StatusCode::CREATED, Json(FacilityView::from(&facility))),
        note(format!("facility:{}", facility.id), "created"),
    ))
}

/// A log source of a tenant and how it is recognized.
#[derive(Serialize, JsonSchema)]
pub(crate) struct SourceView {
    #[schemars(with = "String")]
    id: SourceId,
    #[schemars(with = "String")]
    tenant: TenantId,
    #[schemars(with = "Option<String>")]
    facility: Option<FacilityId>,
    name: String,
    /// auto, syslog, json, cef, leef, evtx or text.
    format: String,
    expected_interval_secs: Option<u64>,
    identities: Vec<IdentityView>,
}

/// One way a source is recognized: a peer network, a TLS certificate, or a machine token (only that it exists:
/// even its digest stays inside).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IdentityView {
    Peer(String),
    TlsCommonName(String),
    TlsFingerprint(String),
    Token(bool),
}

impl From<&Source> for SourceView {
    fn from(s: &Source) -> Self {
        Self {
            id: s.id.clone(),
            tenant: s.tenant.clone(),
            facility: s.facility.clone(),
            name: s.name.clone(),
            format: s.format.as_str().to_owned(),
            expected_interval_secs: s.expected_interval_secs,
            identities: s
                .identities
                .iter()
                .map(|i| match i {
                    SourceIdentity::Peer(net) => IdentityView::Peer(net.to_string()),
                    SourceIdentity::TlsCommonName(cn) => IdentityView::TlsCommonName(cn.clone()),
                    SourceIdentity::TlsFingerprint(fp) => IdentityView::TlsFingerprint(fp.clone()),
                    SourceIdentity::TokenSha256(_) => IdentityView::Token(true),
                })
                .collect(),
        }
    }
}

/// A source just created.
#[derive(Serialize, JsonSchema)]
pub(crate) struct SourceCreated {
    #[schemars(with = "String")]
    id: SourceId,
    #[schemars(with = "String")]
    tenant: TenantId,
}

/// A machine token of a source, shown once.
#[derive(Serialize, JsonSchema)]
pub(crate) struct SourceToken {
    #[schemars(with = "String")]
    source: SourceId,
    token: String,
    /// What revokes it: `DELETE …/sources/{source}/identities/token_sha256/{sha256}`.
    sha256: String,
}

/// A page of a tenant's sources by id (`?limit=`, `?after=` the `Kuzet-Next-Cursor` header).
pub(crate) async fn sources(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query(&query)?;
    let (list, next) = state
        .db()
        .sources_page(a.scope()?, &tenant_param(&tenant)?, page.after, page.limit)
        .await?;
    Ok(page.answer(list.iter().map(SourceView::from).collect(), next))
}

#[derive(Deserialize, JsonSchema)]
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
            Json(SourceCreated {
                id: source.id.clone(),
                tenant: source.tenant.clone(),
            }),
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
            Json(SourceToken {
                sha256: kuzet_db::sha256_hex(&token.secret),
                source: token.source,
                token: token.secret,
            }),
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

#[derive(Deserialize, JsonSchema)]
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

/// A user account: roles, tenant scope, and its security state.
#[derive(Serialize, JsonSchema)]
pub(crate) struct UserView {
    #[schemars(with = "String")]
    id: UserId,
    display_name: String,
    roles: Vec<String>,
    #[schemars(with = "Vec<String>")]
    tenants: Vec<TenantId>,
    mfa_enrolled: bool,
    must_change_password: bool,
    failed_logins: u32,
    #[schemars(with = "Option<String>")]
    locked_until: Option<Timestamp>,
    disabled: bool,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.clone(),
            tenants: u.tenants.clone(),
            mfa_enrolled: u.mfa_enrolled,
            must_change_password: u.must_change_password,
            failed_logins: u.failed_logins,
            locked_until: u.locked_until,
            disabled: u.disabled,
        }
    }
}

/// A user's one-time password, shown once (to be changed at the first login).
#[derive(Serialize, JsonSchema)]
pub(crate) struct Credentials {
    #[schemars(with = "String")]
    id: UserId,
    one_time_password: String,
}

/// A page of users by id (`?limit=`, `?after=` the `Kuzet-Next-Cursor` header).
pub(crate) async fn users(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query(&query)?;
    let (list, next) = state
        .db()
        .users_page(a.scope()?, page.after, page.limit)
        .await?;
    Ok(page.answer(list.iter().map(UserView::from).collect(), next))
}

#[derive(Deserialize, JsonSchema)]
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
            Json(Credentials {
                id: user.id.clone(),
                one_time_password: password,
            }),
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

#[derive(Deserialize, JsonSchema)]
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
        Json(Credentials {
            id: user.clone(),
            one_time_password: password,
        }),
        note(
            format!("user:{user}"),
            "password and MFA reset; sessions ended",
        ),
    ))
}

/// An API token of the caller (never its secret).
#[derive(Serialize, JsonSchema)]
pub(crate) struct TokenView {
    #[schemars(with = "String")]
    id: ObjectId,
    name: String,
    role: String,
    /// `null`: all of the user's tenants.
    #[schemars(with = "Option<Vec<String>>")]
    tenants: Option<Vec<TenantId>>,
    #[schemars(with = "String")]
    created: Timestamp,
    #[schemars(with = "String")]
    expires: Timestamp,
    #[schemars(with = "Option<String>")]
    revoked: Option<Timestamp>,
    #[schemars(with = "Option<String>")]
    last_used: Option<Timestamp>,
}

impl From<&ApiTokenRecord> for TokenView {
    fn from(t: &ApiTokenRecord) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            role: t.role.clone(),
            tenants: t.tenants.clone(),
            created: t.created,
            expires: t.expires,
            revoked: t.revoked,
            last_used: t.last_used,
        }
    }
}

/// A token just created, with its secret (shown once).
#[derive(Serialize, JsonSchema)]
pub(crate) struct TokenCreated {
    #[serde(flatten)]
    record: TokenView,
    token: String,
}

/// A page of the caller's own tokens, oldest first (`?limit=`, `?after=` the `Kuzet-Next-Cursor` header).
pub(crate) async fn tokens(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query(&query)?;
    let (list, next) = state
        .db()
        .api_tokens_page(a.scope()?, page.after, page.limit)
        .await?;
    Ok(page.answer(list.iter().map(TokenView::from).collect(), next))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    name: String,
    role: String,
    #[serde(default)]
    tenants: Option<Vec<String>>,
    #[schemars(with = "String")]
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
    let created = TokenCreated {
        record: TokenView::from(&record),
        token: secret,
    };
    Ok(noted(
        (StatusCode::CREATED, Json(created)),
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

/// Read access to one tenant's logs for a user (an NCCIS officer, R19), for a time, with its reason.
#[derive(Serialize, JsonSchema)]
pub(crate) struct GrantView {
    #[schemars(with = "String")]
    id: ObjectId,
    #[schemars(with = "String")]
    user: UserId,
    #[schemars(with = "String")]
    tenant: TenantId,
    #[schemars(with = "String")]
    starts: Timestamp,
    #[schemars(with = "String")]
    ends: Timestamp,
    #[schemars(with = "Option<String>")]
    revoked: Option<Timestamp>,
    reason: String,
    #[schemars(with = "String")]
    granted_by: UserId,
}

impl From<&AccessGrant> for GrantView {
    fn from(g: &AccessGrant) -> Self {
        Self {
            id: g.id.clone(),
            user: g.user.clone(),
            tenant: g.tenant.clone(),
            starts: g.starts,
            ends: g.ends,
            revoked: g.revoked,
            reason: g.reason.clone(),
            granted_by: g.granted_by.clone(),
        }
    }
}

/// A page of grants, newest first (`?limit=`, `?after=` the `Kuzet-Next-Cursor` header).
pub(crate) async fn grants(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query(&query)?;
    let (list, next) = state
        .db()
        .grants_page(a.scope()?, page.after, page.limit)
        .await?;
    Ok(page.answer(list.iter().map(GrantView::from).collect(), next))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateGrant {
    user: String,
    tenant: String,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    starts: Option<Timestamp>,
    #[schemars(with = "String")]
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
        (StatusCode::CREATED, Json(GrantView::from(&created))),
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
