//! Login, the caller's own account (password, MFA enrolment) and logout.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kuzet_db::LoginOutcome;
use kuzet_model::UserId;
use kuzet_model::access::{Credential, Onboarding, Principal};
use kuzet_model::audit::Outcome;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::routes::{AuditNote, Authed};
use crate::state::{ApiState, SESSION_COOKIE};

/// The body of a JSON request, or a 400 that says what is wrong with it.
pub(crate) fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(v)| v).map_err(|e| {
        let message = format!("request body: {}", e.body_text());
        match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "request body: larger than the {} bytes the API takes",
                    API_BODY_LIMIT
                ),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message,
            ),
            _ => ApiError::bad_request(message),
        }
    })
}

/// The largest request body a JSON route reads (axum's default limit for `Json`).
pub(crate) const API_BODY_LIMIT: usize = 2 << 20;

/// A response carrying a note for the audit record.
pub(crate) fn noted(response: impl IntoResponse, note: AuditNote) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(note);
    response
}

fn onboarding_name(onboarding: Onboarding) -> &'static str {
    match onboarding {
        Onboarding::Complete => "complete",
        Onboarding::ChangePassword => "change_password",
        Onboarding::EnrolMfa => "enrol_mfa",
    }
}

/// Who the caller is: user, roles, assigned tenants, what onboarding still asks, and (a session) its CSRF token.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PrincipalView {
    #[schemars(with = "String")]
    user: UserId,
    roles: Vec<String>,
    #[schemars(with = "Vec<String>")]
    tenants: Vec<kuzet_model::TenantId>,
    /// `complete`, `change_password` or `enrol_mfa`.
    onboarding: &'static str,
    /// For a session: send it as `X-CSRF-Token` with every change.
    csrf_token: Option<String>,
    /// The language the user chose for the console (`kk`, `ru`, `en`), if they chose one.
    language: Option<String>,
}

impl From<&Principal> for PrincipalView {
    fn from(principal: &Principal) -> Self {
        Self {
            user: principal.user().clone(),
            roles: principal.roles().map(str::to_owned).collect(),
            tenants: principal.assigned_tenants().iter().cloned().collect(),
            onboarding: onboarding_name(principal.onboarding()),
            csrf_token: match principal.credential() {
                Credential::Session { csrf, .. } => Some(csrf.clone()),
                Credential::Token { .. } => None,
            },
            language: None,
        }
    }
}

impl PrincipalView {
    /// The view with the language the user chose, read from the database.
    async fn with_language(mut self, state: &ApiState) -> Result<Self, ApiError> {
        self.language = state.db().user_language(&self.user).await?;
        Ok(self)
    }
}

/// A new second factor to enrol: its secret and the `otpauth://` URI an authenticator app reads.
#[derive(Serialize, JsonSchema)]
pub(crate) struct MfaEnrolment {
    secret: String,
    otpauth_uri: String,
}

/// How many sessions `logout-everywhere` ended.
#[derive(Serialize, JsonSchema)]
pub(crate) struct SessionsEnded {
    sessions_ended: u64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    user: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
}

pub(crate) async fn login(
    State(state): State<ApiState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<kuzet_ingest::HttpPeer>>>,
    json: Result<Json<Login>, JsonRejection>,
) -> Response {
    let request = match body(json) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let now = state.now();
    let address = peer.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |p| p.0.0.0.ip());
    let user = UserId::new(request.user.as_str()).ok();
    // Only a valid user name is recorded: anything else typed into the user box (a password, by mistake) is not.
    let object = match &user {
        Some(user) => format!("user:{user}"),
        None => format!("user:(not a user name, {} bytes)", request.user.len()),
    };
    let note = |outcome, detail: String| AuditNote {
        user: user.clone(),
        object: Some(object.clone()),
        detail: Some(detail),
        outcome: Some(outcome),
        ..AuditNote::default()
    };
    // Throttled by the name as typed, known or not, and by address: the same answers for every name.
    let attempt = match state
        .inner
        .login_throttle
        .begin(&request.user, address, now)
    {
        Ok(attempt) => attempt,
        Err(wait) => {
            return noted(
                too_many_attempts(wait),
                note(
                    Outcome::Refused,
                    format!("too many failed attempts from {address}; next allowed in {wait:#}"),
                ),
            );
        }
    };
    let outcome = state
        .db()
        .login(
            &request.user,
            &request.password,
            request.code.as_deref(),
            now,
        )
        .await;
    let passed = matches!(
        outcome,
        Ok(LoginOutcome::Success(_) | LoginOutcome::MfaRequired)
    );
    state.inner.login_throttle.finish(attempt, passed, now);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match outcome {
        LoginOutcome::Success(session) => {
            let max_age = (session.expires - now).get_seconds().max(0);
            let secure = if state.inner.secure_cookies {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{SESSION_COOKIE}={}; HttpOnly{secure}; SameSite=Strict; Path=/; Max-Age={max_age}",
                session.secret
            );
            let view = match PrincipalView::from(&session.principal)
                .with_language(&state)
                .await
            {
                Ok(view) => view,
                Err(e) => return e.into_response(),
            };
            let mut response = Json(view).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            noted(response, note(Outcome::Success, "logged in".into()))
        }
        LoginOutcome::MfaRequired => noted(
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "mfa_required",
                "a one-time code is required",
            ),
            note(
                Outcome::Failure,
                "password accepted, one-time code missing".into(),
            ),
        ),
        LoginOutcome::Failed { locked_now, .. } => {
            let detail = if locked_now {
                format!(
                    "wrong password or code; account locked for {} after repeated failures",
                    state.db().policy().lockout_duration
                )
            } else {
                "wrong password or code (or unknown user)".into()
            };
            noted(
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "wrong user, password or code",
                ),
                note(Outcome::Failure, detail),
            )
        }
        // The same answer as the throttle's: whether the name is an account stays unsaid.
        LoginOutcome::Locked { until } => noted(
            too_many_attempts(
                until
                    .duration_since(now)
                    .max(jiff::SignedDuration::from_secs(1)),
            ),
            note(Outcome::Refused, format!("account locked until {until}")),
        ),
        LoginOutcome::Disabled => noted(
            ApiError::forbidden("account disabled"),
            note(Outcome::Refused, "account disabled".into()),
        ),
    }
}

/// 429 with `Retry-After`: the answer to every login that must wait, whatever the name.
fn too_many_attempts(wait: jiff::SignedDuration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many failed attempts: try again in {seconds} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(crate) async fn me(
    State(state): State<ApiState>,
    Extension(authed): Extension<Authed>,
) -> Result<Response, ApiError> {
    let view = PrincipalView::from(&authed.principal)
        .with_language(&state)
        .await?;
    Ok(Json(view).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LanguageChange {
    /// `kk`, `ru` or `en`; `null` forgets the choice (the browser's language is used).
    language: Option<String>,
}

/// Remembers the language the user chose for the console, for every browser they sign in from.
pub(crate) async fn change_language(
    State(state): State<ApiState>,
    Extension(authed): Extension<Authed>,
    json: Result<Json<LanguageChange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    state
        .db()
        .set_language(&authed.principal, request.language.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current: String,
    new: String,
    /// Also revoke every API token of the account.
    #[serde(default)]
    end_tokens: bool,
}

pub(crate) async fn change_password(
    State(state): State<ApiState>,
    Extension(authed): Extension<Authed>,
    json: Result<Json<PasswordChange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    state
        .db()
        .change_password(
            &authed.principal,
            &request.current,
            &request.new,
            request.end_tokens,
            state.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Replacing an enrolled second factor: the password and a current code from it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MfaReenrol {
    password: String,
    code: String,
}

pub(crate) async fn mfa_enrol(
    State(state): State<ApiState>,
    Extension(authed): Extension<Authed>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let proof: Option<MfaReenrol> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "request body: {e} (expected {{\"password\",\"code\"}} or nothing)"
            ))
        })?)
    };
    let enrolment = state
        .db()
        .begin_mfa_enrolment(
            &authed.principal,
            proof
                .as_ref()
                .map(|p| (p.password.as_str(), p.code.as_str())),
            state.now(),
        )
        .await?;
    Ok(Json(MfaEnrolment {
        secret: enrolment.secret_base32,
        otpauth_uri: enrolment.otpauth_uri,
    })
    .into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MfaConfirm {
    code: String,
}

pub(crate) async fn mfa_confirm(
    State(state): State<ApiState>,
    Extension(authed): Extension<Authed>,
    json: Result<Json<MfaConfirm>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(json)?;
    state
        .db()
        .confirm_mfa_enrolment(&authed.principal, &request.code, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn clear_cookie(mut response: Response) -> Response {
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub(crate) async fn logout(
    State(state): State<ApiState>,
    Extension(authed): Extension<Authed>,
) -> Result<Response, ApiError> {
    state.db().logout(&authed.principal, state.now()).await?;
    Ok(clear_cookie(StatusCode::NO_CONTENT.into_response()))
}

pub(crate) async fn logout_everywhere(
    State(state): State<ApiState>,
    Extension(authed): Extension<Authed>,
) -> Result<Response, ApiError> {
    let ended = state
        .db()
        .logout_everywhere(&authed.principal, state.now())
        .await?;
    Ok(noted(
        clear_cookie(
            Json(SessionsEnded {
                sessions_ended: ended,
            })
            .into_response(),
        ),
        AuditNote {
            detail: Some(format!("{ended} session(s) ended")),
            ..AuditNote::default()
        },
    ))
}
