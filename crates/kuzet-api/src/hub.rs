//! The NCCIS hub's national view (`GET /api/v1/hub/incidents`): every incident the ISOCs reported, at its latest
//! step, with when it was confirmed and when the report arrived — a report that came more than 15 minutes after
//! confirmation is late (R16) — and counts by level, by ISOC and by status.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::Serialize;

use crate::ApiError;
use crate::advisories::invalid;
use crate::routes::Authed;
use crate::state::ApiState;

/// How long after confirmation a report may arrive (R16).
const REPORT_WITHIN: SignedDuration = SignedDuration::from_mins(15);

/// One reported incident, at its latest step.
#[derive(Serialize, JsonSchema, Clone)]
pub(crate) struct HubIncident {
    isoc: String,
    tenant: String,
    /// The ISOC's incident id.
    incident: String,
    organization: String,
    /// The organization's sector (`energy`, `oil_gas`, …), or `unknown` when its ISOC did not say.
    sector: String,
    title: String,
    category: String,
    level: u8,
    status: String,
    #[schemars(with = "Option<String>")]
    confirmed: Option<Timestamp>,
    /// When the first report of it arrived.
    #[schemars(with = "String")]
    reported: Timestamp,
    /// When the latest arrived.
    #[schemars(with = "String")]
    updated: Timestamp,
    messages: u32,
    /// The first report came more than 15 minutes after confirmation.
    late: bool,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct NationalView {
    /// Incidents by level, `"0"` … `"5"`.
    by_level: BTreeMap<String, u32>,
    by_isoc: BTreeMap<String, u32>,
    /// Incidents by the organization's sector; `unknown` when its ISOC did not say.
    by_sector: BTreeMap<String, u32>,
    by_status: BTreeMap<String, u32>,
    /// Reports that arrived late.
    late: u32,
    /// Newest report first.
    incidents: Vec<HubIncident>,
}

/// The incidents reported to this hub, as (ISOC, incident id at that ISOC).
pub(crate) async fn reported_incidents(
    state: &ApiState,
    read: &kuzet_model::access::Scope,
) -> Result<std::collections::BTreeSet<(String, String)>, ApiError> {
    let messages = state.db().hub_incident_messages(read).await?;
    Ok(messages
        .into_iter()
        .filter_map(|m| {
            let message = kuzet_exchange::Envelope::from_stored(m.body.as_bytes())?;
            let id = message.payload.get("incident")?.as_str()?.to_owned();
            Some((m.isoc, id))
        })
        .collect())
}

pub(crate) async fn incidents(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let messages = state.db().hub_incident_messages(a.scope()?).await?;
    let mut latest: BTreeMap<(String, String), HubIncident> = BTreeMap::new();
    for m in messages {
        let Some(message) = kuzet_exchange::Envelope::from_stored(m.body.as_bytes()) else {
            // Every stored message passed the schema on arrival (not checked again); one that no longer reads is
            // skipped, not guessed.
            continue;
        };
        let p = &message.payload;
        let text = |k: &str| {
            p.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let Some(id) = p.get("incident").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let confirmed = p
            .get("confirmed")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| t.parse().ok());
        let entry = latest
            .entry((m.isoc.clone(), id.to_owned()))
            .or_insert_with(|| HubIncident {
                isoc: m.isoc.clone(),
                tenant: message.tenant.clone().unwrap_or_default(),
                incident: id.to_owned(),
                organization: String::new(),
                sector: String::new(),
                title: String::new(),
                category: String::new(),
                level: 0,
                status: String::new(),
                confirmed,
                reported: m.received,
                updated: m.received,
                messages: 0,
                late: false,
            });
        // Messages come oldest first: each later one is the incident's latest step.
        entry.messages += 1;
        entry.updated = m.received;
        entry.organization = text("organization");
        entry.sector = Some(text("sector"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        entry.title = text("title");
        entry.category = text("category");
        entry.level = p
            .get("level")
            .and_then(serde_json::Value::as_u64)
            .and_then(|l| u8::try_from(l).ok())
            .unwrap_or(0);
        entry.status = text("status");
        if entry.confirmed.is_none() {
            entry.confirmed = confirmed;
        }
        entry.late = entry
            .confirmed
            .is_some_and(|c: Timestamp| entry.reported.duration_since(c) > REPORT_WITHIN);
    }
    let mut incidents: Vec<HubIncident> = latest.into_values().collect();
    incidents.sort_by(|a, b| {
        b.reported
            .cmp(&a.reported)
            .then_with(|| a.incident.cmp(&b.incident))
    });
    let mut view = NationalView {
        by_level: (0..=5).map(|l| (l.to_string(), 0)).collect(),
        by_isoc: BTreeMap::new(),
        by_sector: BTreeMap::new(),
        by_status: BTreeMap::new(),
        late: 0,
        incidents: Vec::new(),
    };
    for i in &incidents {
        *view.by_level.entry(i.level.to_string()).or_default() += 1;
        *view.by_isoc.entry(i.isoc.clone()).or_default() += 1;
        *view.by_sector.entry(i.sector.clone()).or_default() += 1;
        *view.by_status.entry(i.status.clone()).or_default() += 1;
        view.late += u32::from(i.late);
    }
    view.incidents = incidents;
    Ok(Json(view).into_response())
}

/// An ISOC registered at the hub.
#[derive(Serialize, JsonSchema)]
pub(crate) struct IsocView {
    /// Its party id: what its messages name as sender.
    id: String,
    name: String,
    /// The SHA-256 fingerprint of its client certificate, which also verifies its signatures.
    fingerprint: String,
    #[schemars(with = "String")]
    registered: Timestamp,
    #[schemars(with = "Option<String>")]
    revoked: Option<Timestamp>,
}

impl From<&kuzet_db::HubIsoc> for IsocView {
    fn from(i: &kuzet_db::HubIsoc) -> Self {
        Self {
            id: i.id.clone(),
            name: i.name.clone(),
            fingerprint: i.fingerprint.clone(),
            registered: i.registered,
            revoked: i.revoked,
        }
    }
}

#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterIsoc {
    /// Its party id (`[a-z0-9][a-z0-9_-]{0,62}`).
    id: String,
    name: String,
    /// Its client certificate, PEM (Ed25519 or ECDSA P-256 key).
    certificate: String,
}

/// The ISOCs registered at this hub, by id.
pub(crate) async fn isocs(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let list = state.db().hub_isocs(a.scope()?).await?;
    Ok(Json(list.iter().map(IsocView::from).collect::<Vec<_>>()).into_response())
}

/// Registers an ISOC by its client certificate while the hub runs: its next connection is recognized.
pub(crate) async fn register(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Result<Json<RegisterIsoc>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let request = crate::auth::body(json)?;
    let certificate = kuzet_exchange::Certificate::from_pem(&request.certificate, "`certificate`")
        .map_err(|e| invalid(e.to_string()))?;
    if certificate.key_algorithm.is_none() {
        return Err(invalid(
            "`certificate`: its key is neither Ed25519 nor ECDSA P-256, so it cannot sign messages"
                .into(),
        ));
    }
    if certificate.not_after < state.now() {
        return Err(invalid(format!(
            "`certificate`: expired at {}",
            certificate.not_after
        )));
    }
    let isoc = state
        .db()
        .hub_register(
            a.scope()?,
            (&request.id, &request.name),
            (&certificate.fingerprint, &certificate.to_pem()),
            state.now(),
        )
        .await?;
    let note = crate::routes::AuditNote {
        object: Some(format!("isoc:{}", isoc.id)),
        detail: Some(format!(
            "certificate {} ({})",
            isoc.fingerprint, certificate.subject
        )),
        ..crate::routes::AuditNote::default()
    };
    Ok(crate::auth::noted(
        (axum::http::StatusCode::CREATED, Json(IsocView::from(&isoc))),
        note,
    ))
}

/// Revokes an ISOC's registration: its certificate is refused from now on; its messages stay.
pub(crate) async fn revoke(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    axum::extract::Path(isoc): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    state
        .db()
        .hub_revoke(a.scope()?, &isoc, state.now())
        .await?;
    Ok(crate::auth::noted(
        axum::http::StatusCode::NO_CONTENT,
        crate::routes::AuditNote {
            object: Some(format!("isoc:{isoc}")),
            detail: Some("revoked".into()),
            ..crate::routes::AuditNote::default()
        },
    ))
}

#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestAccess {
    /// The ISOC that serves the tenant.
    isoc: String,
    /// The tenant, as that ISOC names it.
    tenant: String,
    #[schemars(with = "String")]
    from: Timestamp,
    #[schemars(with = "String")]
    to: Timestamp,
    reason: String,
    /// What NCCIS means to look for, in the query language, if it says.
    #[serde(default)]
    query: Option<String>,
}

/// Asks an ISOC for read access to one tenant's logs for a period (R19); the ISOC's administrator answers with a
/// grant or a refusal, which comes back as an `access.grant` message.
pub(crate) async fn request_access(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    json: Result<Json<RequestAccess>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let request = crate::auth::body(json)?;
    if request.to <= request.from {
        return Err(invalid("`to` must come after `from`".into()));
    }
    let mut payload = serde_json::json!({
        "reason": request.reason, "from": request.from.to_string(), "to": request.to.to_string(),
    });
    if let Some(query) = &request.query {
        payload["query"] = serde_json::Value::String(query.clone());
    }
    let probe = serde_json::json!({
        "version": kuzet_exchange::PROTOCOL_VERSION, "id": "0".repeat(32), "kind": "access.request",
        "sender": "nccis", "recipient": request.isoc, "tenant": request.tenant,
        "created": state.now().to_string(), "payload": payload,
    });
    kuzet_exchange::schema::check(&probe, "access request").map_err(|e| invalid(e.to_string()))?;
    let issued = state
        .db()
        .hub_issue(
            a.scope()?,
            ("access.request", Some(&request.tenant)),
            &payload.to_string(),
            std::slice::from_ref(&request.isoc),
            state.now(),
        )
        .await?;
    let message = issued
        .into_iter()
        .next()
        .map(|(_, m)| m)
        .unwrap_or_default();
    let note = crate::routes::AuditNote {
        object: Some(format!("isoc:{}", request.isoc)),
        detail: Some(format!(
            "read access to `{}` from {} to {}: {}",
            request.tenant, request.from, request.to, request.reason
        )),
        ..crate::routes::AuditNote::default()
    };
    Ok(crate::auth::noted(
        (
            axum::http::StatusCode::CREATED,
            Json(AccessRequested { message }),
        ),
        note,
    ))
}

/// The request as sent: the message the ISOC fetches.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AccessRequested {
    message: String,
}

/// A message as the hub received it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ReceivedView {
    isoc: String,
    id: String,
    kind: String,
    tenant: Option<String>,
    level: Option<u8>,
    /// `sha256:` of the bytes received.
    digest: String,
    #[schemars(with = "String")]
    received: Timestamp,
    /// The message, read.
    message: serde_json::Value,
    /// Its detached JWS, as received: with `digest`, what proves who sent what.
    jws: String,
}

/// The newest messages received from the ISOCs (`?kind=` one kind, `?limit=` at most that many, default 100).
pub(crate) async fn messages(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = crate::incidents::Page::from_query_with(&query, &["kind"])?;
    let kind = query
        .get("kind")
        .map(String::as_str)
        .filter(|k| !k.is_empty());
    if let Some(kind) = kind {
        kuzet_exchange::Kind::parse(kind).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let list = state
        .db()
        .hub_recent_messages(a.scope()?, kind, page.limit)
        .await?;
    let views: Vec<ReceivedView> = list
        .into_iter()
        .map(|m| ReceivedView {
            message: kuzet_exchange::message::as_json(m.body.as_bytes())
                .unwrap_or(serde_json::Value::Null),
            isoc: m.isoc,
            id: m.id,
            kind: m.kind,
            tenant: m.tenant,
            level: m.level,
            digest: m.digest,
            received: m.received,
            jws: m.jws,
        })
        .collect();
    Ok(Json(views).into_response())
}

/// An indicator the ISOCs reported sightings of, all reports of it together.
#[derive(Serialize, JsonSchema)]
pub(crate) struct HubSighting {
    /// The indicator's STIX id.
    indicator: String,
    /// Its STIX pattern (`[ipv4-addr:value = '203.0.113.7']`).
    pattern: String,
    name: String,
    /// The ISOCs that saw it.
    isocs: Vec<String>,
    /// How many organizations saw it (each ISOC's tenants counted apart).
    organizations: u32,
    /// Sighting reports received, and the hits they counted.
    reports: u32,
    hits: u64,
    #[schemars(with = "String")]
    first_seen: Timestamp,
    #[schemars(with = "String")]
    last_seen: Timestamp,
}

/// `GET /api/v1/hub/sightings`: the indicators seen in the ISOCs' organizations, most recently seen first.
pub(crate) async fn sightings(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
) -> Result<Response, ApiError> {
    let messages = state.db().hub_sighting_messages(a.scope()?).await?;
    let mut by_indicator: BTreeMap<String, (HubSighting, BTreeSet<(String, String)>)> =
        BTreeMap::new();
    for m in messages {
        let Some(message) = kuzet_exchange::Envelope::from_stored(m.body.as_bytes()) else {
            // Every stored message passed the schema on arrival (not checked again); one that no longer reads is
            // skipped, not guessed.
            continue;
        };
        let empty = Vec::new();
        let objects = message.payload["bundle"]["objects"]
            .as_array()
            .unwrap_or(&empty);
        let text = |o: &serde_json::Value, k: &str| o[k].as_str().unwrap_or_default().to_owned();
        let time = |o: &serde_json::Value, k: &str| o[k].as_str().and_then(|t| t.parse().ok());
        for seen in objects.iter().filter(|o| o["type"] == "sighting") {
            let of = text(seen, "sighting_of_ref");
            let indicator = objects.iter().find(|o| o["id"] == seen["sighting_of_ref"]);
            let (Some(first), Some(last)) = (time(seen, "first_seen"), time(seen, "last_seen"))
            else {
                continue;
            };
            let (entry, organizations) = by_indicator.entry(of.clone()).or_insert_with(|| {
                (
                    HubSighting {
                        indicator: of.clone(),
                        pattern: indicator.map(|i| text(i, "pattern")).unwrap_or_default(),
                        name: indicator.map(|i| text(i, "name")).unwrap_or_default(),
                        isocs: Vec::new(),
                        organizations: 0,
                        reports: 0,
                        hits: 0,
                        first_seen: first,
                        last_seen: last,
                    },
                    BTreeSet::new(),
                )
            });
            if !entry.isocs.contains(&m.isoc) {
                entry.isocs.push(m.isoc.clone());
            }
            organizations.insert((m.isoc.clone(), message.tenant.clone().unwrap_or_default()));
            entry.reports += 1;
            entry.hits += seen["count"].as_u64().unwrap_or(1);
            entry.first_seen = entry.first_seen.min(first);
            entry.last_seen = entry.last_seen.max(last);
        }
    }
    let mut list: Vec<HubSighting> = by_indicator
        .into_values()
        .map(|(mut sighting, organizations)| {
            sighting.organizations = u32::try_from(organizations.len()).unwrap_or(u32::MAX);
            sighting
        })
        .collect();
    list.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then_with(|| a.indicator.cmp(&b.indicator))
    });
    Ok(Json(list).into_response())
}
