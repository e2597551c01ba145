//! A tenant's contacts (who is told of its incidents, by e-mail or signed webhook, in which language), the
//! notifications sent to them, and the messages sent about it to NCCIS — each with its delivery's receipt or
//! last error.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use kuzet_cases::Lang;
use kuzet_db::{
    Channel, ContactRecord, ContactRole, ExchangeRecord, NewContact, NotificationRecord,
};
use kuzet_model::{ObjectId, TenantId, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::auth::{body, noted};
use crate::routes::{AuditNote, Authed};
use crate::state::ApiState;

pub(crate) fn tenant_param(tenant: &str) -> Result<TenantId, ApiError> {
    TenantId::new(tenant).map_err(|e| ApiError::not_found(format!("tenant: {e}")))
}

/// A contact of a tenant (never its webhook secret).
#[derive(Serialize, JsonSchema)]
pub(crate) struct ContactView {
    #[schemars(with = "String")]
    id: ObjectId,
    #[schemars(with = "String")]
    tenant: TenantId,
    /// `owner` (told at once of a confirmed incident, R15), `security` or `personal_data` (responsible for the
    /// processing of personal data, named in breach notices, R22).
    role: &'static str,
    name: String,
    /// `email` or `webhook`.
    channel: &'static str,
    address: String,
    /// `kk`, `ru` or `en`.
    language: &'static str,
    #[schemars(with = "String")]
    created: Timestamp,
    #[schemars(with = "String")]
    created_by: UserId,
}

impl From<&ContactRecord> for ContactView {
    fn from(c: &ContactRecord) -> Self {
        Self {
            id: c.id.clone(),
            tenant: c.tenant.clone(),
            role: c.role.as_str(),
            name: c.name.clone(),
            channel: c.channel.as_str(),
            address: c.address.clone(),
            language: c.language.code(),
            created: c.created,
            created_by: c.created_by.clone(),
        }
    }
}

pub(crate) async fn contacts(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let list = state
        .db()
        .contacts(a.scope()?, &tenant_param(&tenant)?)
        .await?;
    Ok(Json(list.iter().map(ContactView::from).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateContact {
    /// `owner`, `security` or `personal_data`.
    role: String,
    name: String,
    /// `email` or `webhook`.
    channel: String,
    /// An e-mail address, or the webhook's URL.
    address: String,
    /// `kk`, `ru` or `en`.
    language: String,
}

/// The contact made; a webhook's secret is shown here once: the receiver checks each delivery's
/// `Kuzet-Signature` with it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ContactCreated {
    #[serde(flatten)]
    contact: ContactView,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

pub(crate) async fn create_contact(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    json: Result<Json<CreateContact>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    let language = Lang::parse(&request.language).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("language `{}`: one of kk, ru, en", request.language),
        )
    })?;
    let contact = NewContact {
        tenant: tenant_param(&tenant)?,
        role: ContactRole::parse(&request.role)?,
        name: request.name,
        channel: Channel::parse(&request.channel)?,
        address: request.address,
        language,
    };
    let (made, secret) = state
        .db()
        .create_contact(a.scope()?, &contact, state.now())
        .await?;
    let note = AuditNote {
        object: Some(format!("contact:{}", made.id)),
        detail: Some(format!(
            "{} {} {}",
            made.role.as_str(),
            made.channel.as_str(),
            made.address
        )),
        ..AuditNote::default()
    };
    Ok(noted(
        (
            StatusCode::CREATED,
            Json(ContactCreated {
                contact: ContactView::from(&made),
                secret,
            }),
        ),
        note,
    ))
}

pub(crate) async fn remove_contact(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, contact)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let contact =
        ObjectId::new(contact).map_err(|e| ApiError::not_found(format!("contact: {e}")))?;
    state
        .db()
        .remove_contact(a.scope()?, &tenant_param(&tenant)?, &contact, state.now())
        .await?;
    Ok(noted(
        StatusCode::NO_CONTENT,
        AuditNote {
            object: Some(format!("contact:{contact}")),
            detail: Some("removed".into()),
            ..AuditNote::default()
        },
    ))
}

/// A notification of the outbox: what was sent to whom, and where its delivery stands.
#[derive(Serialize, JsonSchema)]
pub(crate) struct NotificationView {
    #[schemars(with = "String")]
    id: ObjectId,
    /// What it reports, e.g. `incident.confirmed`.
    kind: String,
    #[schemars(with = "Option<String>")]
    incident: Option<ObjectId>,
    /// The obligation its delivery fulfils (the owner's, R15).
    #[schemars(with = "Option<String>")]
    obligation: Option<ObjectId>,
    #[schemars(with = "String")]
    contact: ObjectId,
    channel: &'static str,
    address: String,
    language: &'static str,
    subject: String,
    body: String,
    #[schemars(with = "String")]
    created: Timestamp,
    attempts: u32,
    /// `pending` (not yet tried), `retrying` (failed, tried again at `next_attempt`) or `delivered`.
    state: &'static str,
    #[schemars(with = "Option<String>")]
    next_attempt: Option<Timestamp>,
    #[schemars(with = "Option<String>")]
    delivered: Option<Timestamp>,
    /// What the receiving server answered when it accepted the notification.
    receipt: Option<String>,
    last_error: Option<String>,
}

impl From<&NotificationRecord> for NotificationView {
    fn from(n: &NotificationRecord) -> Self {
        let state = delivery_state(n.delivered, n.attempts);
        Self {
            id: n.id.clone(),
            kind: n.kind.clone(),
            incident: n.incident.clone(),
            obligation: n.obligation.clone(),
            contact: n.contact.clone(),
            channel: n.channel.as_str(),
            address: n.address.clone(),
            language: n.language.code(),
            subject: n.subject.clone(),
            body: n.body.clone(),
            created: n.created,
            attempts: n.attempts,
            state,
            next_attempt: n.delivered.is_none().then_some(n.next_attempt),
            delivered: n.delivered,
            receipt: n.receipt.clone(),
            last_error: n.last_error.clone(),
        }
    }
}

/// A page of a tenant's notifications, newest first (`?limit=`, `?after=` the `Kuzet-Next-Cursor` header).
pub(crate) async fn notifications(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query(&query)?;
    let (list, next) = state
        .db()
        .notifications_page(a.scope()?, &tenant_param(&tenant)?, page.after, page.limit)
        .await?;
    Ok(page.answer(list.iter().map(NotificationView::from).collect(), next))
}

/// Where a delivery stands: `pending` (not yet tried), `retrying` (failed, tried again at its next attempt) or
/// `delivered`.
fn delivery_state(delivered: Option<Timestamp>, attempts: u32) -> &'static str {
    match (delivered, attempts) {
        (Some(_), _) => "delivered",
        (None, 0) => "pending",
        (None, _) => "retrying",
    }
}

/// A message of the NCCIS outbox (`docs/formats/nccis-exchange.md`).
#[derive(Serialize, JsonSchema)]
pub(crate) struct ExchangeView {
    /// The message id: the hub keeps one message per id.
    #[schemars(with = "String")]
    id: ObjectId,
    /// `incident.initial`, `incident.update`, `incident.closure`.
    kind: String,
    #[schemars(with = "Option<String>")]
    incident: Option<ObjectId>,
    /// The obligation the hub's receipt fulfils (the NCCIS report, R16).
    #[schemars(with = "Option<String>")]
    obligation: Option<ObjectId>,
    facilities: Vec<String>,
    /// What the message says.
    payload: serde_json::Value,
    #[schemars(with = "String")]
    created: Timestamp,
    attempts: u32,
    /// `pending`, `retrying` or `delivered`.
    state: &'static str,
    #[schemars(with = "Option<String>")]
    next_attempt: Option<Timestamp>,
    #[schemars(with = "Option<String>")]
    delivered: Option<Timestamp>,
    /// The hub's signed receipt: the receipt message and its detached JWS, as received.
    receipt: Option<ReceiptView>,
    last_error: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct ReceiptView {
    /// The receipt's bytes exactly as received: what `jws` signs.
    body: String,
    /// The same, read.
    message: serde_json::Value,
    /// Its detached JWS, by the hub's key (empty for an XML receipt: signed inside).
    jws: String,
}

impl From<&ExchangeRecord> for ExchangeView {
    fn from(m: &ExchangeRecord) -> Self {
        let json = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
        Self {
            id: m.id.clone(),
            kind: m.kind.clone(),
            incident: m.incident.clone(),
            obligation: m.obligation.clone(),
            facilities: m.facilities.iter().map(ToString::to_string).collect(),
            payload: json(&m.payload),
            created: m.created,
            attempts: m.attempts,
            state: delivery_state(m.delivered, m.attempts),
            next_attempt: m.delivered.is_none().then_some(m.next_attempt),
            delivered: m.delivered,
            receipt: m.receipt.as_ref().map(|(body, jws)| ReceiptView {
                message: kuzet_exchange::message::as_json(body.as_bytes())
                    .unwrap_or(serde_json::Value::Null),
                body: body.clone(),
                jws: jws.clone(),
            }),
            last_error: m.last_error.clone(),
        }
    }
}

/// A page of the messages sent to NCCIS about a tenant, newest first.
pub(crate) async fn exchange(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query_with(&query, &["incident"])?;
    let incident = query
        .get("incident")
        .map(|i| crate::incidents::incident_id(i.clone()))
        .transpose()?;
    let (list, next) = state
        .db()
        .exchange_page(
            a.scope()?,
            &tenant_param(&tenant)?,
            incident.as_ref(),
            page.after,
            page.limit,
        )
        .await?;
    Ok(page.answer(list.iter().map(ExchangeView::from).collect(), next))
}
