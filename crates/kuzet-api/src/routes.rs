//! The route table, the guard in front of every route, and the router built from the table.

use std::collections::HashMap;

use axum::RequestPartsExt;
use axum::Router;
use axum::extract::{ConnectInfo, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, delete, get, post, put};
use kuzet_ingest::HttpPeer;
use kuzet_model::TenantId;
use kuzet_model::access::{AccessDenied, Credential, Permission, PermissionKind, Principal, Scope};
use kuzet_model::audit::{Actor, AuditRecord, Outcome};

use crate::state::{ApiState, SESSION_COOKIE};
use crate::{
    ApiError, access, admin, advisories, auth, contacts, content, crises, files, hub, incidents,
    indicators, observables, overview, risks, rule_test, search, taxii,
};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login itself).
    Public,
    /// Any authenticated principal, also before onboarding is complete.
    Authenticated,
    /// The person's own account (password, second factor, logout): a console session only, also before onboarding
    /// is complete. An API token is refused: it must never replace its owner's second factor or log them out.
    Account,
    /// A principal holding this permission; for a tenant permission on a path with `{tenant}`, over that tenant.
    Permission(Permission),
}

/// One API route: method, path (axum syntax), the audit action it records, and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub action: &'static str,
    pub access: Access,
}

/// What a handler may tell the guard for the audit record: the user a login named, the object acted on, a detail,
/// or a different outcome than the status says (a refusal by a legal guarantee answers 422 but is a refusal).
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditNote {
    pub user: Option<kuzet_model::UserId>,
    /// The tenant concerned when the path does not name it (an event found by id, a grant).
    pub tenant: Option<TenantId>,
    pub object: Option<String>,
    pub detail: Option<String>,
    pub outcome: Option<Outcome>,
}

/// The authenticated caller and the scope of the route's permission, for handlers.
#[derive(Clone)]
pub(crate) struct Authed {
    pub principal: Principal,
    pub scope: Option<Scope>,
}

impl Authed {
    /// The scope the guard built for this route's permission.
    pub fn scope(&self) -> Result<&Scope, ApiError> {
        self.scope.as_ref().ok_or_else(|| {
            ApiError::internal(
                "route",
                "a permission route reached its handler without a scope",
            )
        })
    }
}

/// Writes a type's JSON Schema into the generator's definitions and answers a reference to it.
pub(crate) type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// The schema of `T` as a [`SchemaFn`].
fn schema_of<T: schemars::JsonSchema>() -> Option<SchemaFn> {
    Some(|generator| generator.subschema_for::<T>())
}

/// The request body and the answer of one route, as the types the handler reads and writes: what the OpenAPI
/// document describes and what the API tests check every exchange against.
#[derive(Clone, Copy)]
pub(crate) struct Shapes {
    pub request: Option<SchemaFn>,
    pub response: Option<SchemaFn>,
}

macro_rules! shape {
    () => {
        None
    };
    ($t:ty) => {
        schema_of::<$t>()
    };
}

macro_rules! table {
    ($($method:ident $path:literal $action:literal $access:expr => $handler:expr
        $(, body $req:ty)? $(, reply $res:ty)?;)*) => {
        /// Every route of the API: the single source of the router and of the RBAC matrix test.
        pub fn routes() -> Vec<RouteSpec> {
            vec![$(RouteSpec { method: Method::$method, path: $path, action: $action, access: $access },)*]
        }

        /// The shapes of each route's request and answer, in the order of [`routes`].
        pub(crate) fn shapes() -> Vec<Shapes> {
            vec![$(Shapes { request: shape!($($req)?), response: shape!($($res)?) },)*]
        }

        fn handlers() -> Vec<(RouteSpec, MethodRouter<ApiState>)> {
            vec![$((
                RouteSpec { method: Method::$method, path: $path, action: $action, access: $access },
                method_router(Method::$method, $handler),
            ),)*]
        }
    };
}

fn method_router<H, T>(method: Method, handler: H) -> MethodRouter<ApiState>
where
    H: axum::handler::Handler<T, ApiState>,
    T: 'static,
{
    match method {
        Method::GET => get(handler),
        Method::POST => post(handler),
        Method::PUT => put(handler),
        _ => delete(handler),
    }
}

use Access::{Account, Authenticated, Public};
use Permission::*;
const fn p(permission: Permission) -> Access {
    Access::Permission(permission)
}

table! {
    POST "/api/v1/auth/login" "auth.login" Public => auth::login, body auth::Login, reply auth::PrincipalView;
    GET "/api/v1/openapi.json" "api.describe" Public => content::openapi;
    GET "/api/v1/auth/me" "auth.me" Authenticated => auth::me, reply auth::PrincipalView;
    GET "/api/v1/overview" "overview.view" Authenticated => overview::overview, reply overview::Overview;
    POST "/api/v1/auth/password" "auth.password.change" Account => auth::change_password, body auth::PasswordChange;
    PUT "/api/v1/auth/language" "auth.language.change" Account => auth::change_language, body auth::LanguageChange;
    POST "/api/v1/auth/mfa/enrol" "auth.mfa.enrol" Account => auth::mfa_enrol, body Option<auth::MfaReenrol>, reply auth::MfaEnrolment;
    POST "/api/v1/auth/mfa/confirm" "auth.mfa.confirm" Account => auth::mfa_confirm, body auth::MfaConfirm;
    POST "/api/v1/auth/logout" "auth.logout" Account => auth::logout;
    POST "/api/v1/auth/logout-everywhere" "auth.logout_everywhere" Account => auth::logout_everywhere, reply auth::SessionsEnded;

    GET "/api/v1/tenants" "tenant.list" p(TenantsRead) => admin::tenants, reply Vec<admin::TenantView>;
    POST "/api/v1/tenants" "tenant.create" p(TenantsManage) => admin::create_tenant, body admin::CreateTenant, reply admin::TenantView;
    GET "/api/v1/tenants/{tenant}" "tenant.view" p(TenantsRead) => admin::tenant, reply admin::TenantView;
    PUT "/api/v1/tenants/{tenant}/retention" "tenant.retention.change" p(RetentionManage) => admin::set_retention, body admin::SetRetention;
    GET "/api/v1/tenants/{tenant}/facilities" "facility.list" p(TenantsRead) => admin::facilities, reply Vec<admin::FacilityView>;
    POST "/api/v1/tenants/{tenant}/facilities" "facility.create" p(TenantsManage) => admin::create_facility, body admin::CreateFacility, reply admin::FacilityView;
    GET "/api/v1/tenants/{tenant}/contacts" "contact.list" p(TenantsRead) => contacts::contacts, reply Vec<contacts::ContactView>;
    POST "/api/v1/tenants/{tenant}/contacts" "contact.create" p(TenantsManage) => contacts::create_contact, body contacts::CreateContact, reply contacts::ContactCreated;
    DELETE "/api/v1/tenants/{tenant}/contacts/{contact}" "contact.remove" p(TenantsManage) => contacts::remove_contact;
    POST "/api/v1/tenants/{tenant}/contacts/confirm" "contact.confirm" p(TenantsManage) => advisories::confirm_contacts, reply advisories::Submitted;
    GET "/api/v1/tenants/{tenant}/notifications" "notification.list" p(NotificationsRead) => contacts::notifications, reply Vec<contacts::NotificationView>;
    GET "/api/v1/tenants/{tenant}/exchange" "exchange.list" p(NotificationsRead) => contacts::exchange, reply Vec<contacts::ExchangeView>;
    GET "/api/v1/tenants/{tenant}/assets" "asset.list" p(TenantsRead) => advisories::assets, reply Vec<advisories::AssetView>;
    POST "/api/v1/tenants/{tenant}/assets" "asset.create" p(AssetsManage) => advisories::create_asset, body advisories::CreateAsset, reply advisories::AssetView;
    POST "/api/v1/tenants/{tenant}/assets/import" "asset.import" p(AssetsManage) => advisories::import_assets, body Vec<advisories::CreateAsset>, reply Vec<advisories::AssetView>;
    DELETE "/api/v1/tenants/{tenant}/assets/{asset}" "asset.remove" p(AssetsManage) => advisories::remove_asset;
    GET "/api/v1/tenants/{tenant}/risks" "risk.list" p(TenantsRead) => risks::list, reply Vec<risks::RiskView>;
    POST "/api/v1/tenants/{tenant}/risks" "risk.create" p(AssetsManage) => risks::create, body risks::CreateRisk, reply risks::RiskView;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/risks" "incident.risk.link" p(IncidentsManage) => risks::link, body risks::LinkRisk;
    GET "/api/v1/tenants/{tenant}/incidents/{incident}/assets" "incident.assets" p(IncidentsRead) => advisories::incident_assets, reply Vec<advisories::LinkedAssetView>;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/assignee" "incident.assign" p(IncidentsManage) => observables::assign, body observables::Assign;
    GET "/api/v1/tenants/{tenant}/incidents/{incident}/observables" "incident.observables" p(IncidentsRead) => observables::list, reply Vec<observables::ObservableView>;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/observables" "incident.observable.add" p(IncidentsManage) => observables::add, body observables::AddObservable, reply observables::ObservableView;
    GET "/api/v1/tenants/{tenant}/advisories" "advisory.list" p(AdvisoriesRead) => advisories::advisories, reply Vec<advisories::AdvisoryView>;
    POST "/api/v1/hub/advisories" "advisory.issue" p(AdvisoriesIssue) => advisories::issue, body advisories::IssueAdvisory, reply advisories::Issued;
    GET "/api/v1/hub/incidents" "hub.incidents" p(HubRead) => hub::incidents, reply hub::NationalView;
    GET "/api/v1/hub/messages" "hub.messages" p(HubRead) => hub::messages, reply Vec<hub::ReceivedView>;
    GET "/api/v1/hub/sightings" "hub.sightings" p(HubRead) => hub::sightings, reply Vec<hub::HubSighting>;
    GET "/api/v1/hub/crises" "crisis.list" p(HubRead) => crises::list, reply Vec<crises::CrisisView>;
    POST "/api/v1/hub/crises" "crisis.open" p(CrisisManage) => crises::open, body crises::OpenCrisis, reply crises::CrisisView;
    GET "/api/v1/hub/crises/{crisis}" "crisis.view" p(HubRead) => crises::view, reply crises::CrisisView;
    POST "/api/v1/hub/crises/{crisis}/members" "crisis.member.add" p(CrisisManage) => crises::add_member, body crises::AddMember;
    POST "/api/v1/hub/crises/{crisis}/tasks" "crisis.task.add" p(CrisisManage) => crises::add_task, body crises::AddTask;
    POST "/api/v1/hub/crises/{crisis}/tasks/{task}/done" "crisis.task.done" p(CrisisManage) => crises::task_done;
    POST "/api/v1/hub/crises/{crisis}/entries" "crisis.entry.add" p(CrisisManage) => crises::add_entry, body crises::AddEntry;
    POST "/api/v1/hub/crises/{crisis}/close" "crisis.close" p(CrisisManage) => crises::close, body crises::CloseCrisis;
    GET "/api/v1/hub/isocs" "hub.isoc.list" p(HubManage) => hub::isocs, reply Vec<hub::IsocView>;
    POST "/api/v1/hub/isocs" "hub.isoc.register" p(HubManage) => hub::register, body hub::RegisterIsoc, reply hub::IsocView;
    DELETE "/api/v1/hub/isocs/{isoc}" "hub.isoc.revoke" p(HubManage) => hub::revoke;
    POST "/api/v1/hub/access-requests" "hub.access.request" p(AccessRequest) => hub::request_access, body hub::RequestAccess, reply hub::AccessRequested;
    GET "/api/v1/access-requests" "access_request.list" p(GrantsManage) => access::list, reply Vec<access::AccessRequestView>;
    POST "/api/v1/access-requests/{request}/decision" "access_request.decide" p(GrantsManage) => access::decide, body access::Decide, reply access::Decided;
    GET "/api/v1/tenants/{tenant}/sources" "source.list" p(SourcesRead) => admin::sources, reply Vec<admin::SourceView>;
    POST "/api/v1/tenants/{tenant}/sources" "source.create" p(SourcesManage) => admin::create_source, body admin::CreateSource, reply admin::SourceCreated;
    POST "/api/v1/tenants/{tenant}/sources/{source}/tokens" "source.token.create" p(SourcesManage) => admin::create_source_token, reply admin::SourceToken;
    POST "/api/v1/tenants/{tenant}/sources/{source}/certificates" "source.certificate.add" p(SourcesManage) => admin::add_source_certificate, body admin::AddCertificate;
    DELETE "/api/v1/tenants/{tenant}/sources/{source}/identities/{kind}/{value}" "source.identity.revoke" p(SourcesManage) => admin::revoke_source_identity;
    GET "/api/v1/tenants/{tenant}/events/export" "events.export" p(EventsExport) => content::export;
    DELETE "/api/v1/tenants/{tenant}/events" "events.purge" p(ArchivePurge) => content::purge;
    GET "/api/v1/events/{event}" "event.view" p(EventsRead) => content::event, reply content::EventView;
    POST "/api/v1/search" "events.search" p(EventsRead) => search::route, body search::SearchBody, reply search::SearchAnswer;
    POST "/api/v1/search/export" "events.search_export" p(EventsExport) => search::export_route, body search::ExportBody;

    GET "/api/v1/tenants/{tenant}/incidents" "incident.list" p(IncidentsRead) => incidents::list, reply Vec<incidents::IncidentView>;
    POST "/api/v1/tenants/{tenant}/incidents" "incident.create" p(IncidentsManage) => incidents::create, body incidents::Create, reply incidents::Created;
    GET "/api/v1/tenants/{tenant}/incidents/{incident}" "incident.view" p(IncidentsRead) => incidents::view, reply incidents::IncidentView;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/transitions" "incident.transition" p(IncidentsManage) => incidents::transition, body incidents::Move, reply incidents::Moved;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/level" "incident.level.override" p(IncidentsManage) => incidents::override_level, body incidents::LevelOverride, reply incidents::LevelOverridden;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/personal-data" "incident.personal_data.mark" p(IncidentsManage) => incidents::mark_personal_data, body incidents::PersonalData, reply incidents::PersonalDataMarked;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/entries" "incident.entry.add" p(IncidentsManage) => incidents::add_entry, body incidents::AddEntry, reply incidents::EntryView;
    GET "/api/v1/tenants/{tenant}/incidents/{incident}/timeline" "incident.timeline" p(IncidentsRead) => incidents::timeline, reply Vec<incidents::TimelineView>;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/personal-data-notice" "incident.personal_data.notice" p(IncidentsManage) => incidents::breach_notice, body incidents::BreachNoticeBody;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/split" "incident.split" p(IncidentsManage) => incidents::split, body incidents::Split, reply incidents::SplitOff;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/alerts" "incident.alerts.add" p(IncidentsManage) => incidents::add_alerts, body incidents::AddAlerts;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/tasks/{task}/done" "incident.task.done" p(IncidentsManage) => incidents::complete_task;
    GET "/api/v1/tenants/{tenant}/obligations" "obligation.list" p(IncidentsRead) => incidents::obligations, reply Vec<incidents::ObligationView>;
    GET "/api/v1/tenants/{tenant}/alerts" "alert.list" p(IncidentsRead) => incidents::alerts, reply Vec<incidents::AlertView>;
    GET "/api/v1/tenants/{tenant}/alerts/{alert}" "alert.view" p(IncidentsRead) => incidents::alert, reply incidents::AlertView;
    POST "/api/v1/tenants/{tenant}/alerts/{alert}/triage" "alert.triage" p(IncidentsManage) => incidents::triage, body incidents::Triage, reply incidents::AlertView;
    GET "/api/v1/tenants/{tenant}/rules" "rule.controls.view" p(IncidentsRead) => incidents::rule_controls, reply incidents::RuleControls;
    PUT "/api/v1/tenants/{tenant}/rules/{rule}" "rule.setting.change" p(RulesManage) => incidents::set_rule, body incidents::RuleSwitch, reply incidents::SettingView;
    POST "/api/v1/tenants/{tenant}/rules/{rule}/exceptions" "rule.exception.create" p(RulesManage) => incidents::add_exception, body incidents::ExceptionBody, reply incidents::ExceptionView;
    DELETE "/api/v1/tenants/{tenant}/rule-exceptions/{exception}" "rule.exception.delete" p(RulesManage) => incidents::remove_exception;
    GET "/api/v1/tenants/{tenant}/reports/quarterly" "report.quarterly" p(ReportsRead) => incidents::quarterly_report;
    POST "/api/v1/tenants/{tenant}/reports/quarterly/submit" "report.quarterly.submit" p(IncidentsManage) => advisories::submit_quarterly, body advisories::SubmitQuarterly, reply advisories::Submitted;
    GET "/api/v1/tenants/{tenant}/reports/journal" "report.journal" p(ReportsRead) => incidents::journal;
    GET "/api/v1/reports/quarterly" "report.consolidated" p(ReportsRead) => incidents::consolidated_report;
    GET "/api/v1/tenants/{tenant}/reports/metrics" "report.metrics" p(ReportsRead) => incidents::metrics_report;
    POST "/api/v1/tenants/{tenant}/obligations/{obligation}/fulfil" "obligation.fulfil" p(IncidentsManage) => incidents::fulfil, body incidents::Fulfil;
    GET "/api/v1/tenants/{tenant}/incidents/{incident}/evidence" "incident.evidence.view" p(IncidentsRead) => incidents::evidence, reply incidents::EvidenceView;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/evidence" "incident.evidence.attach" p(IncidentsManage) => incidents::attach_evidence, body incidents::Attach;
    POST "/api/v1/tenants/{tenant}/incidents/{incident}/evidence/files" "incident.evidence.file.attach" p(IncidentsManage) => files::attach, reply files::EvidenceFileView;
    GET "/api/v1/tenants/{tenant}/incidents/{incident}/evidence/files/{sha256}" "incident.evidence.file.get" p(IncidentsRead) => files::download;

    GET "/api/v1/rules/files" "rule.file.list" p(RulesManage) => incidents::rule_files, reply Vec<incidents::RuleFileView>;
    GET "/api/v1/indicators" "indicator.list" p(IndicatorsRead) => indicators::list, reply indicators::IndicatorsView;
    GET "/api/v1/tenants/{tenant}/intel/stix" "intel.export" p(IntelRead) => taxii::export;
    GET "/taxii2/" "taxii.discovery" p(IntelRead) => taxii::discovery;
    GET "/taxii2/{tenant}/" "taxii.api_root" p(IntelRead) => taxii::api_root;
    GET "/taxii2/{tenant}/collections/" "taxii.collections" p(IntelRead) => taxii::collections;
    GET "/taxii2/{tenant}/collections/{collection}/" "taxii.collection" p(IntelRead) => taxii::one_collection;
    GET "/taxii2/{tenant}/collections/{collection}/objects/" "taxii.objects" p(IntelRead) => taxii::objects;
    GET "/taxii2/{tenant}/collections/{collection}/objects/{object}/" "taxii.object" p(IntelRead) => taxii::objects;
    GET "/taxii2/{tenant}/collections/{collection}/objects/{object}/versions/" "taxii.versions" p(IntelRead) => taxii::versions;
    GET "/taxii2/{tenant}/collections/{collection}/manifest/" "taxii.manifest" p(IntelRead) => taxii::manifest;
    POST "/api/v1/rules/files" "rule.file.import" p(RulesManage) => incidents::import_rule_file, body incidents::ImportRuleFile, reply incidents::RuleFileImported;
    POST "/api/v1/rules/test" "rule.test" Authenticated => rule_test::test, body rule_test::RuleTest, reply rule_test::RuleTested;

    GET "/api/v1/users" "user.list" p(UsersManage) => admin::users, reply Vec<admin::UserView>;
    POST "/api/v1/users" "user.create" p(UsersManage) => admin::create_user, body admin::CreateUser, reply admin::Credentials;
    PUT "/api/v1/users/{user}/access" "user.access.change" p(UsersManage) => admin::set_user_access, body admin::SetAccess;
    POST "/api/v1/users/{user}/unlock" "user.unlock" p(UsersManage) => admin::unlock_user;
    POST "/api/v1/users/{user}/disable" "user.disable" p(UsersManage) => admin::disable_user;
    POST "/api/v1/users/{user}/enable" "user.enable" p(UsersManage) => admin::enable_user;
    POST "/api/v1/users/{user}/reset" "user.credentials.reset" p(UsersManage) => admin::reset_user, reply admin::Credentials;

    GET "/api/v1/tokens" "token.list" p(TokensOwn) => admin::tokens, reply Vec<admin::TokenView>;
    POST "/api/v1/tokens" "token.create" p(TokensOwn) => admin::create_token, body admin::CreateToken, reply admin::TokenCreated;
    DELETE "/api/v1/tokens/{token}" "token.revoke" p(TokensOwn) => admin::revoke_token;

    GET "/api/v1/grants" "grant.list" p(GrantsManage) => admin::grants, reply Vec<admin::GrantView>;
    POST "/api/v1/grants" "grant.create" p(GrantsManage) => admin::create_grant, body admin::CreateGrant, reply admin::GrantView;
    DELETE "/api/v1/grants/{grant}" "grant.revoke" p(GrantsManage) => admin::revoke_grant;

    GET "/api/v1/audit" "audit.search" p(AuditRead) => content::audit, reply content::AuditPage;
    GET "/api/v1/audit/{event}/proof" "audit.proof" p(AuditRead) => content::audit_proof, reply content::Object;
    GET "/api/v1/system/status" "system.status" p(ServiceOperate) => content::status, reply content::StatusView;
}

/// Routes whose success answers no body (204, or 201 when nothing new needs naming).
pub(crate) const NO_BODY: &[&str] = &[
    "auth.password.change",
    "auth.language.change",
    "auth.mfa.confirm",
    "auth.logout",
    "tenant.retention.change",
    "source.certificate.add",
    "source.identity.revoke",
    "incident.task.done",
    "incident.alerts.add",
    "obligation.fulfil",
    "incident.evidence.attach",
    "rule.exception.delete",
    "user.access.change",
    "user.unlock",
    "user.disable",
    "user.enable",
    "token.revoke",
    "grant.revoke",
    "contact.remove",
    "asset.remove",
    "incident.risk.link",
    "incident.assign",
    "hub.isoc.revoke",
    "crisis.member.add",
    "crisis.task.add",
    "crisis.task.done",
    "crisis.entry.add",
    "crisis.close",
    // Refused for everyone (sealed data leaves only by lawful expiry): it never answers a success.
    "events.purge",
];

const TAXII: &str = kuzet_exchange::taxii::MEDIA_TYPE;

/// Routes answering something else than a JSON document of a Kuzet type: the media types they answer.
pub(crate) const MEDIA: &[(&str, &[&str])] = &[
    ("api.describe", &["application/json"]),
    ("intel.export", &["application/stix+json;version=2.1"]),
    ("taxii.discovery", &[TAXII]),
    ("taxii.api_root", &[TAXII]),
    ("taxii.collections", &[TAXII]),
    ("taxii.collection", &[TAXII]),
    ("taxii.objects", &[TAXII]),
    ("taxii.object", &[TAXII]),
    ("taxii.versions", &[TAXII]),
    ("taxii.manifest", &[TAXII]),
    ("events.export", &["application/x-ndjson"]),
    (
        "events.search_export",
        &["application/x-ndjson", "text/csv"],
    ),
    (
        "report.quarterly",
        &[
            "text/html",
            "text/csv",
            "application/xml",
            "application/json",
        ],
    ),
    (
        "report.consolidated",
        &[
            "text/html",
            "text/csv",
            "application/xml",
            "application/json",
        ],
    ),
    (
        "report.journal",
        &[
            "text/html",
            "text/csv",
            "application/xml",
            "application/json",
        ],
    ),
    (
        "report.metrics",
        &["text/html", "text/csv", "application/json"],
    ),
    ("incident.personal_data.notice", &["text/plain"]),
    ("incident.evidence.file.get", &["application/octet-stream"]),
];

/// The API router: every route of the table behind the guard, and only those.
pub fn router(state: ApiState) -> Router {
    let mut router = Router::new();
    for (spec, handler) in handlers() {
        // `route_layer`: the guard (and its audit action) is the route's own; a method the path does not have is
        // answered 405 outside it, and recorded below as what it is.
        router = router.route(
            spec.path,
            handler.route_layer(from_fn_with_state((state.clone(), spec), guard)),
        );
    }
    router
        .route("/api/v1", any(unknown_route))
        .route("/api/v1/{*rest}", any(unknown_route))
        .layer(from_fn_with_state(state.clone(), audit_unrouted))
        .with_state(state)
}

/// Marks a response whose request the guard recorded.
#[derive(Debug, Clone, Copy)]
struct Audited;

async fn unknown_route(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::not_found(format!("no such API route: {method} {}", uri.path())).into_response()
}

/// Records what no route's guard did: an unknown path (404) or a method its path does not have (405). Every
/// request under `/api/v1` thus leaves exactly one record.
async fn audit_unrouted(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let now = state.now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let address = request
        .extensions()
        .get::<ConnectInfo<HttpPeer>>()
        .map(|c| c.0.0.ip().to_string());
    let response = next.run(request).await;
    if response.extensions().get::<Audited>().is_some() {
        return response;
    }
    let status = response.status();
    let action = if status == StatusCode::METHOD_NOT_ALLOWED {
        "api.method_not_allowed"
    } else {
        "api.unknown_route"
    };
    let actor = Actor {
        user: None,
        via: "anonymous".into(),
        address,
    };
    let record = AuditRecord::new(now, actor, action, Outcome::Refused)
        .object(format!("route:{method} {path}"))
        .detail(format!("answered {}", status.as_u16()))
        .bounded();
    match state.inner.audit.append(record).await {
        Ok(()) => response,
        Err(error) => {
            tracing::error!(%error, action, "audit record could not be made durable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "the audit trail could not record this request, so its answer is withheld",
            )
            .into_response()
        }
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
}

/// Whether a request of this method may change something (and so must not run unless it can be audited).
fn changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why the guard refused, as the answer and the audit detail.
fn refusal(status: StatusCode, code: &'static str, message: String) -> (Response, String) {
    (
        ApiError::new(status, code, message.clone()).into_response(),
        message,
    )
}

/// Authenticates, authorizes and audits one request. The work runs as its own task, so that a client that goes
/// away mid-request cannot cut it between the change and its audit record: both happen, or neither.
async fn guard(
    State((state, spec)): State<(ApiState, RouteSpec)>,
    request: Request,
    next: Next,
) -> Response {
    let action = spec.action;
    match tokio::spawn(guard_to_the_end(state, spec, request, next)).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, action, "request task failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the request failed inside the server",
            )
            .into_response()
        }
    }
}

async fn guard_to_the_end(
    state: ApiState,
    spec: RouteSpec,
    request: Request,
    next: Next,
) -> Response {
    let now = state.now();
    let address = request
        .extensions()
        .get::<ConnectInfo<HttpPeer>>()
        .map(|c| c.0.0.ip().to_string());
    let (mut parts, body) = request.into_parts();
    let params: HashMap<String, String> = match parts.extract::<RawPathParams>().await {
        Ok(raw) => raw
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        Err(_) => HashMap::new(),
    };
    let path_tenant = params
        .get("tenant")
        .and_then(|t| TenantId::new(t.as_str()).ok());
    let mut actor = Actor {
        user: None,
        via: "anonymous".into(),
        address,
    };
    let decision: Result<Option<Authed>, (Response, String)> = async {
        let principal = match (
            bearer(&parts.headers),
            cookie(&parts.headers, SESSION_COOKIE),
        ) {
            (Some(token), _) => state.db().authenticate_token(&token, now).await,
            (None, Some(secret)) => state.db().authenticate_session(&secret, now).await,
            (None, None) => Ok(None),
        }
        .map_err(|e| {
            let e = ApiError::from(e);
            let detail = e.message.clone();
            (e.into_response(), detail)
        })?;
        if let Some(p) = &principal {
            actor.user = Some(p.user().clone());
            actor.via = match p.credential() {
                Credential::Session { session, .. } => format!("session:{session}"),
                Credential::Token { token, .. } => format!("token:{token}"),
            };
        }
        if spec.access == Access::Public {
            return Ok(None);
        }
        let Some(principal) = principal else {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "authentication required: log in or send an API token".into(),
            ));
        };
        // A console session must echo its CSRF token on every request that changes something.
        if let Credential::Session { csrf, .. } = principal.credential()
            && !matches!(parts.method, Method::GET | Method::HEAD)
            && !parts
                .headers
                .get("x-csrf-token")
                // In constant time: how much of a token matched must not show in how long the refusal takes.
                .is_some_and(|v| {
                    bool::from(subtle::ConstantTimeEq::ct_eq(v.as_bytes(), csrf.as_bytes()))
                })
        {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header for this session".into(),
            ));
        }
        if spec.access == Access::Account && matches!(principal.credential(), Credential::Token { .. }) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "session_required",
                "an API token cannot change its owner's password, second factor or sessions: log in at the console"
                    .into(),
            ));
        }
        let scope = match spec.access {
            Access::Permission(permission) => {
                let scoped = match (&path_tenant, permission.kind()) {
                    (Some(tenant), PermissionKind::Tenant) => {
                        principal.scope_for(permission, tenant, now)
                    }
                    _ => principal.scope(permission, now),
                };
                match scoped {
                    Ok(scope) => Some(scope),
                    // Another tenant's objects are "not found": their existence is not confirmed.
                    Err(AccessDenied::Tenant { tenant, .. }) => {
                        return Err(refusal(
                            StatusCode::NOT_FOUND,
                            "not_found",
                            format!("tenant `{tenant}`: not found"),
                        ));
                    }
                    Err(denied) => {
                        return Err(refusal(
                            StatusCode::FORBIDDEN,
                            "forbidden",
                            denied.to_string(),
                        ));
                    }
                }
            }
            _ => None,
        };
        Ok(Some(Authed { principal, scope }))
    }
    .await;
    let (response, mut record) = match decision {
        Err((response, detail)) => {
            let record = AuditRecord::new(now, actor, spec.action, Outcome::Refused).detail(detail);
            (response, record)
        }
        Ok(_) if changes(&parts.method) && state.inner.audit.available().is_err() => {
            let why = state.inner.audit.available().err().unwrap_or_default();
            let (response, detail) = refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                format!("the audit trail cannot record changes now ({why}); nothing was changed"),
            );
            let record = AuditRecord::new(now, actor, spec.action, Outcome::Refused).detail(detail);
            (response, record)
        }
        Ok(authed) => {
            if let Some(authed) = authed {
                parts.extensions.insert(authed);
            }
            let response = next.run(Request::from_parts(parts, body)).await;
            let note = response
                .extensions()
                .get::<AuditNote>()
                .cloned()
                .unwrap_or_default();
            let status = response.status();
            let outcome =
                note.outcome
                    .unwrap_or(if status.is_success() || status.is_redirection() {
                        Outcome::Success
                    } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                        Outcome::Refused
                    } else {
                        Outcome::Failure
                    });
            if actor.user.is_none() {
                actor.user = note.user.clone();
            }
            let mut record = AuditRecord::new(now, actor, spec.action, outcome);
            record.object = note.object;
            record.tenant = note.tenant;
            // Why it failed, in the answer's own words when the handler said nothing more.
            let said = response
                .extensions()
                .get::<crate::error::ErrorMessage>()
                .map(|m| format!("answered {}: {}", status.as_u16(), m.0));
            record.detail = note.detail.or(said).or_else(|| {
                (!status.is_success()).then(|| format!("answered {}", status.as_u16()))
            });
            (response, record)
        }
    };
    if path_tenant.is_some() {
        record.tenant = path_tenant;
    }
    if record.object.is_none() {
        record.object = Some(format!("route:{} {}", spec.method, spec.path));
    }
    match state.inner.audit.append(record.bounded()).await {
        Ok(()) => {
            let mut response = response;
            response.extensions_mut().insert(Audited);
            response
        }
        Err(error) => {
            tracing::error!(%error, action = spec.action, "audit record could not be made durable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "the audit trail could not record this request, so its answer is withheld; a change it made \
                 stays in effect — check the service health before retrying",
            )
            .into_response()
        }
    }
}
