//! A tenant's assets and the NCCIS advisories that concerned them (R18), and the quarterly report it sends NCCIS
//! (R20); at the hub, officers issue advisories to the ISOCs (`docs/formats/nccis-exchange.md`).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ipnet::IpNet;
use jiff::Timestamp;
use kuzet_db::{AssetRecord, NewAsset, TenantAdvisory};
use kuzet_model::{FacilityId, ObjectId, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::auth::{body, noted};
use crate::contacts::tenant_param;
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

/// A body that reads but says something Kuzet refuses: 422, naming it.
pub(crate) fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

/// An asset of a tenant's inventory.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AssetView {
    #[schemars(with = "String")]
    id: ObjectId,
    #[schemars(with = "Option<String>")]
    facility: Option<FacilityId>,
    name: String,
    /// A CPE 2.3 name or a purl.
    product: Option<String>,
    version: Option<String>,
    #[schemars(with = "Vec<String>")]
    addresses: Vec<IpNet>,
    #[schemars(with = "String")]
    created: Timestamp,
    #[schemars(with = "String")]
    created_by: UserId,
}

impl From<&AssetRecord> for AssetView {
    fn from(a: &AssetRecord) -> Self {
        Self {
            id: a.id.clone(),
            facility: a.facility.clone(),
            name: a.name.clone(),
            product: a.product.clone(),
            version: a.version.clone(),
            addresses: a.addresses.clone(),
            created: a.created,
            created_by: a.created_by.clone(),
        }
    }
}

/// An asset an event or an incident concerns, and what named it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct LinkedAssetView {
    asset: AssetView,
    /// `host` (a host name matched the asset's name) or `address` (an address in the asset's).
    seen: &'static str,
    /// The event field, or `alert <id>: <what>` for what an incident's alert named.
    field: String,
    value: String,
}

impl From<&kuzet_db::LinkedAsset> for LinkedAssetView {
    fn from(l: &kuzet_db::LinkedAsset) -> Self {
        Self {
            asset: AssetView::from(&l.asset),
            seen: l.link.seen.as_str(),
            field: l.link.field.clone(),
            value: l.link.value.clone(),
        }
    }
}

/// The assets an incident's alerts name (host, indicator address, correlation group), matched when asked.
pub(crate) async fn incident_assets(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, incident)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let linked = state
        .db()
        .incident_assets(
            a.scope()?,
            &tenant_param(&tenant)?,
            &crate::incidents::incident_id(incident)?,
        )
        .await?;
    Ok(Json(linked.iter().map(LinkedAssetView::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateAsset {
    name: String,
    /// The facility it belongs to, if any.
    #[serde(default)]
    facility: Option<String>,
    /// A CPE 2.3 name (`cpe:2.3:a:vendor:product[:version…]`) or a purl (`pkg:type/namespace/name[@version]`).
    #[serde(default)]
    product: Option<String>,
    /// The version, when the product name does not carry it.
    #[serde(default)]
    version: Option<String>,
    /// Addresses or CIDR ranges it answers on.
    #[serde(default)]
    addresses: Vec<String>,
}

pub(crate) async fn assets(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let list = state
        .db()
        .assets(a.scope()?, &tenant_param(&tenant)?)
        .await?;
    Ok(Json(list.iter().map(AssetView::from).collect::<Vec<_>>()).into_response())
}

/// An asset as the API takes it, checked into what the inventory keeps.
fn new_asset(tenant: kuzet_model::TenantId, request: CreateAsset) -> Result<NewAsset, ApiError> {
    let facility = request
        .facility
        .map(|f| FacilityId::new(f).map_err(|e| invalid(format!("asset `facility`: {e}"))))
        .transpose()?;
    let addresses = request
        .addresses
        .iter()
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    invalid(format!(
                        "asset address `{text}`: not an address or CIDR range"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewAsset {
        tenant,
        facility,
        name: request.name,
        product: request.product.filter(|p| !p.trim().is_empty()),
        version: request.version.filter(|v| !v.trim().is_empty()),
        addresses,
    })
}

/// The most assets one import takes.
const MAX_IMPORT: usize = 1000;

/// `POST …/assets/import`: an inventory as a JSON array of assets, or as CSV (`Content-Type: text/csv`; columns
/// `name`, `product`, `version`, `addresses`, `facility`), kept all or none; an error names the asset by its
/// position, or the CSV line.
pub(crate) async fn import_assets(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    headers: axum::http::HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let request: Vec<CreateAsset> = if csv {
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| ApiError::bad_request(format!("request body: not UTF-8 text: {e}")))?;
        kuzet_cases::parse_inventory(text)
            .map_err(|e| invalid(e.to_string()))?
            .into_iter()
            .map(|row| CreateAsset {
                name: row.name,
                facility: row.facility,
                product: row.product,
                version: row.version,
                addresses: row.addresses,
            })
            .collect()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("request body: {e}")))?
    };
    if request.is_empty() || request.len() > MAX_IMPORT {
        return Err(invalid(format!(
            "assets: {} given; 1 to {MAX_IMPORT} in one import",
            request.len()
        )));
    }
    let tenant = tenant_param(&tenant)?;
    let assets = request
        .into_iter()
        .enumerate()
        .map(|(n, r)| {
            new_asset(tenant.clone(), r).map_err(|mut e| {
                e.message = format!("asset {}: {}", n + 1, e.message);
                e
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let made = state
        .db()
        .create_assets(a.scope()?, &assets, state.now())
        .await?;
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(made.iter().map(AssetView::from).collect::<Vec<_>>()),
        ),
        AuditNote {
            detail: Some(format!("{} asset(s) imported", made.len())),
            ..AuditNote::default()
        },
    ))
}

pub(crate) async fn create_asset(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    json: Result<Json<CreateAsset>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let asset = new_asset(tenant_param(&tenant)?, request)?;
    let made = state
        .db()
        .create_asset(a.scope()?, &asset, state.now())
        .await?;
    let note = AuditNote {
        object: Some(format!("asset:{}", made.id)),
        detail: Some(format!(
            "{} {}",
            made.name,
            made.product.as_deref().unwrap_or("(no product)")
        )),
        ..AuditNote::default()
    };
    Ok(noted(
        (StatusCode::CREATED, Json(AssetView::from(&made))),
        note,
    ))
}

pub(crate) async fn remove_asset(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, asset)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let asset = ObjectId::new(asset).map_err(|e| ApiError::not_found(format!("asset: {e}")))?;
    state
        .db()
        .remove_asset(a.scope()?, &tenant_param(&tenant)?, &asset, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("asset:{asset}")),
            detail: Some("removed".into()),
            ..AuditNote::default()
        },
    ))
}

/// The part of an NCCIS advisory that concerned a tenant.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AdvisoryView {
    #[schemars(with = "String")]
    id: ObjectId,
    /// The hub's message it came in.
    message: String,
    title: String,
    severity: String,
    /// The advisory with only the products and address ranges that match this tenant's assets.
    part: serde_json::Value,
    /// The assets it matched.
    #[schemars(with = "Vec<String>")]
    assets: Vec<ObjectId>,
    /// Assets matched on the product whose version is unknown: check them.
    #[schemars(with = "Vec<String>")]
    version_unknown: Vec<ObjectId>,
    #[schemars(with = "String")]
    received: Timestamp,
}

impl From<&TenantAdvisory> for AdvisoryView {
    fn from(a: &TenantAdvisory) -> Self {
        Self {
            id: a.id.clone(),
            message: a.message.clone(),
            title: a.title.clone(),
            severity: a.severity.clone(),
            part: serde_json::from_str(&a.part).unwrap_or(serde_json::Value::Null),
            assets: a.assets.clone(),
            version_unknown: a.version_unknown.clone(),
            received: a.received,
        }
    }
}

/// The newest advisories that concerned a tenant (at most `?limit=`, default 100).
pub(crate) async fn advisories(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query(&query)?;
    let list = state
        .db()
        .tenant_advisories(a.scope()?, &tenant_param(&tenant)?, page.limit)
        .await?;
    Ok(Json(list.iter().map(AdvisoryView::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueAdvisory {
    /// The advisory: `type` (threat, vulnerability), `title`, `severity` (low … critical), `description`, and
    /// optionally `cve`, `affected` (products with version ranges), `addresses`, `remedies`, `references`.
    advisory: serde_json::Value,
    /// The ISOCs to send it to; none: every registered ISOC.
    #[serde(default)]
    isocs: Vec<String>,
}

/// The messages an advisory was issued as, one per ISOC.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Issued {
    issued: Vec<IssuedTo>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct IssuedTo {
    isoc: String,
    message: String,
}

/// Issues an advisory to ISOCs (at the NCCIS hub): checked against the exchange schema, then one message per ISOC,
/// fetched by each over its mutual-TLS connection.
pub(crate) async fn issue(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Result<Json<IssueAdvisory>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let probe = serde_json::json!({
        "version": kuzet_exchange::PROTOCOL_VERSION, "id": "0".repeat(32), "kind": "advisory",
        "sender": "nccis", "recipient": "isoc", "created": state.now().to_string(),
        "payload": request.advisory,
    });
    kuzet_exchange::schema::check(&probe, "advisory").map_err(|e| invalid(e.to_string()))?;
    let parsed: kuzet_cases::Advisory = serde_json::from_value(request.advisory.clone())
        .map_err(|e| invalid(format!("advisory: {e}")))?;
    // Every range and address must read now: an ISOC would otherwise refuse the advisory for all its tenants.
    kuzet_cases::concerning(&parsed, &[]).map_err(|e| invalid(e.to_string()))?;
    let payload = serde_json::to_string(&parsed).map_err(|e| invalid(format!("advisory: {e}")))?;
    let issued = state
        .db()
        .hub_issue(
            a.scope()?,
            ("advisory", None),
            &payload,
            &request.isocs,
            state.now(),
        )
        .await?;
    let note = AuditNote {
        object: Some("advisory".into()),
        detail: Some(format!(
            "{} ({}) to {}",
            parsed.title.chars().take(200).collect::<String>(),
            parsed.severity,
            issued
                .iter()
                .map(|(i, _)| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        ..AuditNote::default()
    };
    let view = Issued {
        issued: issued
            .into_iter()
            .map(|(isoc, message)| IssuedTo { isoc, message })
            .collect(),
    };
    Ok(noted((StatusCode::CREATED, Json(view)), note))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitQuarterly {
    year: i16,
    /// 1–4.
    quarter: i8,
}

/// The quarterly report as sent: the outbox message, and the obligation its receipt fulfils.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Submitted {
    #[schemars(with = "String")]
    message: ObjectId,
    #[schemars(with = "Option<String>")]
    obligation: Option<ObjectId>,
}

/// The answer to something queued for NCCIS: 202 with the message and the obligation its receipt fulfils,
/// audited with `detail`.
fn submitted(message: ObjectId, obligation: Option<ObjectId>, detail: String) -> Response {
    let note = AuditNote {
        object: Some(format!("message:{message}")),
        detail: Some(detail),
        ..AuditNote::default()
    };
    noted(
        (
            StatusCode::ACCEPTED,
            Json(Submitted {
                message,
                obligation,
            }),
        ),
        note,
    )
}

/// Sends NCCIS a tenant's quarterly report of incidents and measures (R20) through the exchange outbox; its
/// progress shows under `…/exchange`.
pub(crate) async fn submit_quarterly(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    json: Result<Json<SubmitQuarterly>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let quarter = kuzet_cases::Quarter::new(request.year, request.quarter)
        .map_err(|e| invalid(e.to_string()))?;
    let (message, obligation) = state
        .db()
        .submit_quarterly_report(a.scope()?, &tenant_param(&tenant)?, quarter, state.now())
        .await?;
    Ok(submitted(
        message,
        obligation,
        format!(
            "quarterly report {}-Q{} to NCCIS",
            quarter.year, quarter.number
        ),
    ))
}

/// Confirms a tenant's contacts to NCCIS (R21: each quarter, by the 10th of its first month) through the
/// exchange outbox; its receipt fulfils the quarter's confirmation obligation.
pub(crate) async fn confirm_contacts(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let (message, obligation) = state
        .db()
        .confirm_contacts(a.scope()?, &tenant_param(&tenant)?, state.now())
        .await?;
    Ok(submitted(
        message,
        obligation,
        "contacts confirmed to NCCIS".into(),
    ))
}
