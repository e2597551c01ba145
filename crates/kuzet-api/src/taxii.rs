//! A TAXII 2.1 server (`docs/formats/taxii.md`) and the STIX 2.1 export of each tenant's threat intelligence:
//! an API root per tenant, a read-only collection per TLP level. The collection of a level holds what may be
//! shared at it — the ISOC's indicators (their feeds' marking, TLP:AMBER when they carry none), the tenant's
//! sightings of them (TLP:AMBER: they tell where the tenant was hit) and the vulnerabilities of the advisories that
//! concerned it (TLP:AMBER) — so a consumer that may pass on only TLP:GREEN polls the green collection and never
//! receives anything narrower.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use kuzet_cases::Advisory;
use kuzet_detect::Indicator;
use kuzet_exchange::stix::{self, OWN_LEVEL, StixObject, Tlp};
use kuzet_exchange::taxii;
use kuzet_model::TenantId;
use kuzet_model::access::Scope;
use serde_json::{Value, json};

use crate::ApiError;
use crate::admin::tenant_param;
use crate::routes::Authed;
use crate::state::ApiState;

/// The id of a tenant's collection of one level: stable, unique to the tenant and level.
pub fn collection_id(tenant: &TenantId, level: Tlp) -> String {
    let id = stix::derived_id(
        "x-kuzet-collection",
        &format!("{tenant}:{}", level.as_str()),
    );
    id.split_once("--")
        .map_or(id.clone(), |(_, uuid)| uuid.to_owned())
}

fn level_of(tenant: &TenantId, collection: &str) -> Option<Tlp> {
    Tlp::ALL
        .into_iter()
        .find(|level| collection_id(tenant, *level) == collection)
}

/// A TAXII answer: the TAXII media type, a status.
fn answer(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(taxii::MEDIA_TYPE),
    );
    response
}

/// Why a TAXII request is refused: as the API refuses anything (authorization, storage), or as TAXII says (an
/// `error` resource).
#[derive(Debug)]
pub(crate) enum Refusal {
    Api(ApiError),
    Taxii {
        status: StatusCode,
        title: &'static str,
        description: String,
    },
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal::Api(error)
    }
}

impl From<kuzet_db::DbError> for Refusal {
    fn from(error: kuzet_db::DbError) -> Self {
        Refusal::Api(error.into())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Api(error) => error.into_response(),
            Refusal::Taxii {
                status,
                title,
                description,
            } => answer(status, &taxii::error(title, &description, status.as_u16())),
        }
    }
}

fn refuse(status: StatusCode, title: &'static str, description: String) -> Refusal {
    Refusal::Taxii {
        status,
        title,
        description,
    }
}

/// Refuses a request whose `Accept` names nothing TAXII 2.1 can answer.
fn acceptable(headers: &HeaderMap) -> Result<(), Refusal> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if taxii::accepts(accept) {
        return Ok(());
    }
    Err(refuse(
        StatusCode::NOT_ACCEPTABLE,
        "not acceptable",
        format!(
            "Accept `{}`: this server answers {}",
            accept.unwrap_or(""),
            taxii::MEDIA_TYPE
        ),
    ))
}

/// `GET /taxii2/`: the API roots the caller may read, one per tenant.
pub(crate) async fn discovery(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    acceptable(&headers)?;
    let tenants = state.db().intel_tenants(a.scope()?).await?;
    let roots: Vec<String> = tenants
        .iter()
        .map(|t| format!("/taxii2/{}/", t.tenant.id))
        .collect();
    let mut body = json!({
        "title": "Kuzet ISOC threat intelligence",
        "description": "STIX 2.1 indicators, sightings and vulnerabilities per organization, one collection per TLP level.",
        "api_roots": roots,
    });
    if let (Some(first), Some(map)) = (roots.first(), body.as_object_mut()) {
        map.insert("default".into(), json!(first));
    }
    Ok(answer(StatusCode::OK, &body))
}

/// `GET /taxii2/{tenant}/`: the API root of a tenant.
pub(crate) async fn api_root(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    acceptable(&headers)?;
    let tenant = tenant_of(&state, a.scope()?, &tenant).await?;
    Ok(answer(
        StatusCode::OK,
        &json!({
            "title": format!("{} — threat intelligence", tenant.1),
            "description": format!("What the ISOC shares with {}: one collection per TLP level.", tenant.1),
            "versions": [taxii::MEDIA_TYPE],
            "max_content_length": 10_485_760,
        }),
    ))
}

/// The tenant's id and name, "not found" outside the scope.
async fn tenant_of(
    state: &ApiState,
    scope: &Scope,
    tenant: &str,
) -> Result<(TenantId, String), ApiError> {
    let id = tenant_param(tenant)?;
    let record = state
        .db()
        .intel_tenants(scope)
        .await?
        .into_iter()
        .find(|t| t.tenant.id == id)
        .ok_or_else(|| ApiError::not_found(format!("tenant `{id}`")))?;
    Ok((id, record.tenant.name))
}

fn collection(tenant: &TenantId, name: &str, level: Tlp) -> Value {
    let label = format!("TLP:{}", level.as_str().to_ascii_uppercase());
    json!({
        "id": collection_id(tenant, level),
        "title": format!("{name} — {label}"),
        "description": format!(
            "Indicators, sightings and vulnerabilities of {name} that may be shared at {label} or wider."
        ),
        "alias": format!("tlp-{}", level.as_str()),
        "can_read": true,
        "can_write": false,
        "media_types": [taxii::STIX_MEDIA_TYPE],
    })
}

/// `GET /taxii2/{tenant}/collections/`.
pub(crate) async fn collections(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    acceptable(&headers)?;
    let (id, name) = tenant_of(&state, a.scope()?, &tenant).await?;
    let list: Vec<Value> = Tlp::ALL
        .into_iter()
        .map(|level| collection(&id, &name, level))
        .collect();
    Ok(answer(StatusCode::OK, &json!({"collections": list})))
}

/// `GET /taxii2/{tenant}/collections/{collection}/`.
pub(crate) async fn one_collection(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path((tenant, wanted)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    acceptable(&headers)?;
    let (id, name) = tenant_of(&state, a.scope()?, &tenant).await?;
    let level = level_of(&id, &wanted).ok_or_else(|| no_collection(&wanted))?;
    Ok(answer(StatusCode::OK, &collection(&id, &name, level)))
}

fn no_collection(wanted: &str) -> Refusal {
    refuse(
        StatusCode::NOT_FOUND,
        "collection not found",
        format!("collection `{wanted}`: not a collection of this API root"),
    )
}

/// Everything a tenant's collections are made of, each object with its level.
pub(crate) async fn tenant_objects(
    state: &ApiState,
    scope: &Scope,
    tenant: &TenantId,
) -> Result<Vec<StixObject>, ApiError> {
    let records = state.db().intel(scope, tenant).await?;
    let party = state.inner.party.as_str();
    let isoc = stix::isoc_identity(party);
    let place = stix::tenant_identity(
        party,
        tenant.as_str(),
        &records.tenant.tenant.name,
        records
            .sightings
            .iter()
            .map(|s| s.created)
            .min()
            .unwrap_or(Timestamp::UNIX_EPOCH),
    );
    let mut objects = Vec::new();
    if let Some(set) = state.inner.indicators.as_ref().map(|s| s.load()) {
        for (n, indicator) in set.indicators().iter().enumerate() {
            let level = stix::indicator_tlp(indicator, OWN_LEVEL);
            objects.push(stix::indicator(indicator, &isoc.id, set.added(n), level));
        }
    }
    let mut sighted = false;
    for alert in &records.sightings {
        // What detection wrote: an alert whose indicator does not read is not a sighting Kuzet can describe.
        let Ok(indicator) = serde_json::from_value::<Indicator>(alert.detail["indicator"].clone())
        else {
            continue;
        };
        let level = stix::indicator_tlp(&indicator, OWN_LEVEL).max(OWN_LEVEL);
        let indicator_id = stix::indicator_id(&indicator);
        let key = stix::sighting_key(
            party,
            tenant.as_str(),
            &indicator_id,
            alert.detail["host"].as_str().unwrap_or_default(),
            alert.first,
        );
        objects.push(stix::sighting(
            &stix::Sighting {
                key: &key,
                indicator: &indicator_id,
                creator: &isoc.id,
                at: &place.id,
                count: alert.hits,
                first: alert.first,
                last: alert.last,
                created: alert.created,
                modified: alert.last.max(alert.created),
                description: Some(&alert.rule_title),
            },
            level,
        ));
        sighted = true;
    }
    for advisory in &records.advisories {
        let Ok(part) = serde_json::from_str::<Advisory>(&advisory.part) else {
            continue;
        };
        let mut description = part.description.clone();
        if !part.remedies.is_empty() {
            description.push_str("\n\nRemedies:\n- ");
            description.push_str(&part.remedies.join("\n- "));
        }
        let names: Vec<Option<&str>> = if part.cve.is_empty() {
            vec![None]
        } else {
            part.cve.iter().map(|c| Some(c.as_str())).collect()
        };
        for cve in names {
            objects.push(stix::vulnerability(
                &stix::Vulnerability {
                    name: cve.unwrap_or(&part.title),
                    cve,
                    description: &description,
                    creator: &isoc.id,
                    created: advisory.received,
                    references: &part.references,
                },
                OWN_LEVEL,
            ));
        }
    }
    // One object per id: the newest wins (two advisories naming one CVE describe one vulnerability).
    objects.sort_by(|a, b| (&a.id, b.added).cmp(&(&b.id, a.added)));
    objects.dedup_by(|later, kept| later.id == kept.id);
    objects.push(isoc);
    if sighted {
        objects.push(place);
    }
    Ok(objects)
}

async fn shared(
    state: &ApiState,
    a: &Authed,
    tenant: &str,
    wanted: &str,
) -> Result<Vec<StixObject>, Refusal> {
    // The tenant is looked up once, by `Db::intel` (not found outside the scope).
    let id = tenant_param(tenant)?;
    let level = level_of(&id, wanted).ok_or_else(|| no_collection(wanted))?;
    let objects = tenant_objects(state, a.scope()?, &id).await?;
    Ok(stix::shareable(&objects, level))
}

/// The query string's pairs, in order, repeated keys kept.
type Pairs = Query<Vec<(String, String)>>;

fn query_of(pairs: &[(String, String)]) -> Result<taxii::Query, Refusal> {
    taxii::Query::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, "bad query", e.to_string()))
}

fn paged(page: &taxii::Page<'_>, body: Value) -> Response {
    let mut response = answer(StatusCode::OK, &body);
    for (name, at) in [
        ("x-taxii-date-added-first", page.first_added),
        ("x-taxii-date-added-last", page.last_added),
    ] {
        if let Some(value) = at.and_then(|t| HeaderValue::from_str(&stix::timestamp(t)).ok()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// What the objects, object and manifest endpoints answer: a page of the collection.
enum Listing {
    Objects,
    Manifest,
    Versions,
}

/// The collection (and object) a request names: `tenant`, `collection`, `object` of the path.
struct Named {
    tenant: String,
    wanted: String,
    object: Option<String>,
}

async fn list(
    state: ApiState,
    a: Authed,
    named: Named,
    headers: HeaderMap,
    pairs: Vec<(String, String)>,
    listing: Listing,
) -> Result<Response, Refusal> {
    acceptable(&headers)?;
    let Named {
        tenant,
        wanted,
        object,
    } = named;
    let mut query = query_of(&pairs)?;
    let objects = shared(&state, &a, &tenant, &wanted).await?;
    if let Some(object) = &object {
        query.ids = vec![object.clone()];
    }
    let page = taxii::page(&objects, &query);
    if object.is_some() && page.objects.is_empty() {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "object not found",
            format!(
                "object `{}`: not in collection `{wanted}` (or not at the version asked)",
                object.unwrap_or_default()
            ),
        ));
    }
    let body = match listing {
        Listing::Objects => page.envelope(),
        Listing::Manifest => page.manifest(),
        Listing::Versions => {
            let versions: Vec<&str> = page.objects.iter().map(|o| o.version()).collect();
            json!({"more": page.next.is_some(), "versions": versions})
        }
    };
    Ok(paged(&page, body))
}

/// The path's `{tenant}`, `{collection}` and, for one object, `{object}`.
type Params = Path<HashMap<String, String>>;

fn named(mut params: HashMap<String, String>) -> Named {
    Named {
        tenant: params.remove("tenant").unwrap_or_default(),
        wanted: params.remove("collection").unwrap_or_default(),
        object: params.remove("object"),
    }
}

/// `GET /taxii2/{tenant}/collections/{collection}/objects/` and `…/objects/{object}/`.
pub(crate) async fn objects(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(params): Params,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, Refusal> {
    list(state, a, named(params), headers, pairs, Listing::Objects).await
}

/// `GET /taxii2/{tenant}/collections/{collection}/manifest/`.
pub(crate) async fn manifest(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(params): Params,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, Refusal> {
    list(state, a, named(params), headers, pairs, Listing::Manifest).await
}

/// `GET /taxii2/{tenant}/collections/{collection}/objects/{object}/versions/`.
pub(crate) async fn versions(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(params): Params,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, Refusal> {
    list(state, a, named(params), headers, pairs, Listing::Versions).await
}

/// `GET /api/v1/tenants/{tenant}/intel/stix?tlp=`: a STIX 2.1 bundle of what may be shared at that level
/// (`amber` unless asked), as a download.
pub(crate) async fn export(
    State(state): State<ApiState>,
    Extension(a): Extension<Authed>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    for key in query.keys() {
        if key != "tlp" {
            return Err(ApiError::bad_request(format!(
                "query parameter `{key}`: expected tlp"
            )));
        }
    }
    let level = match query.get("tlp").map(String::as_str) {
        None | Some("") => OWN_LEVEL,
        Some(text) => Tlp::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query parameter `tlp`: `{text}` is not clear, green, amber or red"
            ))
        })?,
    };
    let id = tenant_param(&tenant)?;
    let objects = tenant_objects(&state, a.scope()?, &id).await?;
    let bundle = stix::bundle(&stix::shareable(&objects, level));
    let mut response = bundle.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(taxii::STIX_MEDIA_TYPE),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{id}-tlp-{}.stix.json\"",
        level.as_str()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
