//! Accounts through the API: the first administrator's onboarding with MFA, lockout and unlock, token scope and
//! expiry, session revocation, and the refusals that separate duties.

use axum::http::{Method, header};
use jiff::SignedDuration;
use kuzet_db::totp_code;
use serde_json::json;

use crate::harness::{Auth, Harness, OWN, PASSWORD};

fn session_from(answer: &crate::harness::Answer) -> Auth {
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let secret = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    Auth::Session {
        cookie: secret,
        csrf: answer.json["csrf_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_changes_password_and_enrols_mfa_before_anything_else() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let created = h
        .call(
            Method::POST,
            "/api/v1/users",
            &admin,
            Some(json!({"id": "zhanar", "roles": ["isoc-admin"]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let one_time = created.json["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();

    let login = |password: String, code: Option<String>| {
        let mut body = json!({"user": "zhanar", "password": password});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        body
    };
    let answer = h
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(login(one_time.clone(), None)),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["onboarding"], "change_password");
    let session = session_from(&answer);
    // Nothing else is open yet.
    let refused = h.call(Method::GET, "/api/v1/tenants", &session, None).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.message().contains("one-time password"),
        "{}",
        refused.text
    );
    let weak = h
        .call(
            Method::POST,
            "/api/v1/auth/password",
            &session,
            Some(json!({"current": one_time, "new": "short"})),
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.message().contains("at least 12"), "{}", weak.text);
    let changed = h
        .call(
            Method::POST,
            "/api/v1/auth/password",
            &session,
            Some(json!({"current": one_time, "new": PASSWORD})),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let me = h.call(Method::GET, "/api/v1/auth/me", &session, None).await;
    assert_eq!(me.json["onboarding"], "enrol_mfa");
    let refused = h.call(Method::GET, "/api/v1/tenants", &session, None).await;
    assert!(
        refused.message().contains("multi-factor"),
        "{}",
        refused.text
    );
    let enrol = h
        .call(Method::POST, "/api/v1/auth/mfa/enrol", &session, None)
        .await;
    let secret = enrol.json["secret"].as_str().unwrap().to_owned();
    assert!(
        enrol.json["otpauth_uri"]
            .as_str()
            .unwrap()
            .contains(&secret)
    );
    let wrong = h
        .call(
            Method::POST,
            "/api/v1/auth/mfa/confirm",
            &session,
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!(wrong.status, 422);
    let code = totp_code(&secret, h.now()).unwrap();
    let confirmed = h
        .call(
            Method::POST,
            "/api/v1/auth/mfa/confirm",
            &session,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.text);
    assert_eq!(
        h.call(Method::GET, "/api/v1/tenants", &session, None)
            .await
            .status,
        200
    );

    // From now on a code is needed, and each code works once.
    let answer = h
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(login(PASSWORD.into(), None)),
        )
        .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (401, "mfa_required")
    );
    h.advance(SignedDuration::from_secs(30));
    let code = totp_code(&secret, h.now()).unwrap();
    let answer = h
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(login(PASSWORD.into(), Some(code.clone()))),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["onboarding"], "complete");
    let replay = h
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(login(PASSWORD.into(), Some(code))),
        )
        .await;
    assert_eq!(replay.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_unlock_tokens_and_sessions() {
    let h = Harness::new().await;
    let attempt = |password: &str| json!({"user": "aigerim", "password": password});
    let login = |body: serde_json::Value| {
        h.call(Method::POST, "/api/v1/auth/login", &Auth::None, Some(body))
    };
    // A real account and a name that is none get the same answers: five 401s, then 429 with Retry-After, the
    // delay doubling with each further failure.
    for user in ["aigerim", "nobody-at-all"] {
        for n in 1..=5 {
            let answer = login(json!({"user": user, "password": "wrong-password-x"})).await;
            assert_eq!(answer.status, 401, "{user}: attempt {n}");
            assert_eq!(answer.code(), "invalid_credentials");
        }
        let answer = login(json!({"user": user, "password": "wrong-password-x"})).await;
        assert_eq!(answer.status, 429, "{user}: {}", answer.text);
        assert_eq!(answer.code(), "too_many_attempts");
        assert_eq!(answer.headers[header::RETRY_AFTER], "1", "{user}");
    }
    // Only after lockout_threshold (20) failures is the account itself locked, which from one address costs the
    // doubling delays: the answer stays the throttle's.
    let mut wait = 1;
    for _ in 5..20 {
        h.advance(SignedDuration::from_secs(wait));
        let answer = login(attempt("wrong-password-x")).await;
        assert_eq!(answer.status, 401, "{}", answer.text);
        wait = (wait * 2).min(900);
    }
    let locked = login(attempt(PASSWORD)).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert_eq!(locked.code(), "too_many_attempts");
    // Hours went by: the administrator logs in again.
    let admin = h.session("admin").await;
    let users = h.call(Method::GET, "/api/v1/users", &admin, None).await;
    let aigerim = users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "aigerim")
        .unwrap()
        .clone();
    assert!(aigerim["locked_until"].is_string(), "{aigerim}");
    assert_eq!(
        h.call(Method::POST, "/api/v1/users/aigerim/unlock", &admin, None)
            .await
            .status,
        204
    );
    h.advance(SignedDuration::from_secs(wait));
    let answer = h
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(attempt(PASSWORD)),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let analyst = session_from(&answer);

    // A token: the analyst's role over its tenant, until it expires.
    let expires = (h.now() + SignedDuration::from_hours(2)).to_string();
    let made = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &analyst,
            Some(json!({"name": "soar", "role": "analyst", "expires": expires})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let token = Auth::Token(made.json["token"].as_str().unwrap().to_owned());
    assert_eq!(
        h.call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/sources"),
            &token,
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        h.call(Method::GET, "/api/v1/users", &token, None)
            .await
            .status,
        403
    );
    // Tokens do not mint tokens.
    let minted = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &token,
            Some(json!({"name": "x", "role": "analyst", "expires": expires})),
        )
        .await;
    assert_eq!(minted.status, 422, "{}", minted.text);
    h.advance(SignedDuration::from_hours(3));
    assert_eq!(
        h.call(Method::GET, "/api/v1/tenants", &token, None)
            .await
            .status,
        401
    );

    // Logout everywhere ends every session of the user; disabling a user ends them too.
    let one = h.session("auditor").await;
    let two = h.session("auditor").await;
    let ended = h
        .call(Method::POST, "/api/v1/auth/logout-everywhere", &one, None)
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(
        h.call(Method::GET, "/api/v1/audit", &two, None)
            .await
            .status,
        401
    );
    let admin = h.session("admin").await;
    let three = h.session("auditor").await;
    assert_eq!(
        h.call(Method::POST, "/api/v1/users/auditor/disable", &admin, None)
            .await
            .status,
        204
    );
    assert_eq!(
        h.call(Method::GET, "/api/v1/audit", &three, None)
            .await
            .status,
        401
    );

    // An analyst gets a second tenant: its open session reaches it on the next request.
    let analyst = h.session("aigerim").await;
    let other = format!("/api/v1/tenants/{}", crate::harness::OTHER);
    assert_eq!(
        h.call(Method::GET, &other, &analyst, None).await.status,
        404
    );
    let change = json!({"roles": ["analyst"], "tenants": [OWN, crate::harness::OTHER]});
    let answer = h
        .call(
            Method::PUT,
            "/api/v1/users/aigerim/access",
            &admin,
            Some(change),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(
        h.call(Method::GET, &other, &analyst, None).await.status,
        200
    );
    let unknown_role = json!({"roles": ["root"]});
    let answer = h
        .call(
            Method::PUT,
            "/api/v1/users/aigerim/access",
            &admin,
            Some(unknown_role),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    // The last isoc-admin can neither lose the role nor be disabled.
    let demote = json!({"roles": ["auditor"]});
    let answer = h
        .call(
            Method::PUT,
            "/api/v1/users/admin/access",
            &admin,
            Some(demote),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert!(
        answer.message().contains("last enabled isoc-admin"),
        "{}",
        answer.text
    );
    let answer = h
        .call(Method::POST, "/api/v1/users/admin/disable", &admin, None)
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_deletes_logs_or_lowers_retention_below_the_floor() {
    let h = Harness::new().await;
    for user in ["admin", "aigerim", "auditor", "ops", "owner", "nccis"] {
        let session = h.session(user).await;
        let purge = h
            .call(
                Method::DELETE,
                &format!("/api/v1/tenants/{OWN}/events"),
                &session,
                None,
            )
            .await;
        assert!(
            matches!(purge.status.as_u16(), 403 | 404),
            "{user}: {}",
            purge.text
        );
    }
    let admin = h.session("admin").await;
    for (hot, years) in [(30, 3), (62, 2)] {
        let low = h
            .call(
                Method::PUT,
                &format!("/api/v1/tenants/{OWN}/retention"),
                &admin,
                Some(json!({"hot_days": hot, "archive_years": years})),
            )
            .await;
        assert_eq!(low.status, 422, "{}", low.text);
        assert!(low.message().contains("R3"), "{}", low.text);
    }
    let ok = h
        .call(
            Method::PUT,
            &format!("/api/v1/tenants/{OWN}/retention"),
            &admin,
            Some(json!({"hot_days": 90, "archive_years": 5})),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    let view = h
        .call(Method::GET, &format!("/api/v1/tenants/{OWN}"), &admin, None)
        .await;
    assert_eq!(
        view.json["retention"],
        json!({"hot_days": 90, "archive_years": 5})
    );
    // The system administrator operates the service and sees no content.
    let ops = h.session("ops").await;
    let status = h
        .call(Method::GET, "/api/v1/system/status", &ops, None)
        .await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.json["database"]["backend"], "sqlite");
    let own_event = h.events[OWN].to_string();
    assert_eq!(
        h.call(
            Method::GET,
            &format!("/api/v1/events/{own_event}"),
            &ops,
            None
        )
        .await
        .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_can_neither_replace_their_owner_nor_outlive_a_reset() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let other_admin_session = h.session("admin").await;
    let expires = (h.now() + SignedDuration::from_hours(2)).to_string();
    let made = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({"name": "ops", "role": "isoc-admin", "expires": expires})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let token = Auth::Token(made.json["token"].as_str().unwrap().to_owned());
    // A token cannot touch its owner's account.
    for path in [
        "/api/v1/auth/mfa/enrol",
        "/api/v1/auth/logout-everywhere",
        "/api/v1/auth/password",
    ] {
        let answer = h.call(Method::POST, path, &token, Some(json!({}))).await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.text);
        assert_eq!(answer.code(), "session_required", "{path}");
    }
    // A session replaces an enrolled factor only with the password and a current code from it.
    h.advance(SignedDuration::from_secs(90));
    let answer = h
        .call(Method::POST, "/api/v1/auth/mfa/enrol", &admin, None)
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert!(
        answer.message().contains("needs your password"),
        "{}",
        answer.text
    );
    let wrong = json!({"password": PASSWORD, "code": "000000"});
    let answer = h
        .call(Method::POST, "/api/v1/auth/mfa/enrol", &admin, Some(wrong))
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    let code = totp_code(&h.totp["admin"], h.now()).unwrap();
    let right = json!({"password": PASSWORD, "code": code});
    let answer = h
        .call(Method::POST, "/api/v1/auth/mfa/enrol", &admin, Some(right))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let new_secret = answer.json["secret"].as_str().unwrap().to_owned();
    let confirm = json!({"code": totp_code(&new_secret, h.now()).unwrap()});
    let answer = h
        .call(
            Method::POST,
            "/api/v1/auth/mfa/confirm",
            &admin,
            Some(confirm),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    // Whoever held the old factor is out: the other session and the token end; this session goes on.
    assert_eq!(
        h.call(Method::GET, "/api/v1/tenants", &token, None)
            .await
            .status,
        401
    );
    assert_eq!(
        h.call(Method::GET, "/api/v1/tenants", &other_admin_session, None)
            .await
            .status,
        401
    );
    assert_eq!(
        h.call(Method::GET, "/api/v1/tenants", &admin, None)
            .await
            .status,
        200
    );

    // A reset ends the user's tokens too.
    let analyst = h.session("aigerim").await;
    let made = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &analyst,
            Some(json!({"name": "soar", "role": "analyst", "expires": expires})),
        )
        .await;
    let analyst_token = Auth::Token(made.json["token"].as_str().unwrap().to_owned());
    assert_eq!(
        h.call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}"),
            &analyst_token,
            None
        )
        .await
        .status,
        200
    );
    let answer = h
        .call(Method::POST, "/api/v1/users/aigerim/reset", &admin, None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        h.call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}"),
            &analyst_token,
            None
        )
        .await
        .status,
        401
    );
}

/// The language a user chooses follows them: `me` and the next login answer it; only kk, ru and en are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chosen_language_follows_the_user() {
    let h = Harness::new().await;
    let session = h.session("aigerim").await;
    let me = h.call(Method::GET, "/api/v1/auth/me", &session, None).await;
    assert!(me.json["language"].is_null(), "{}", me.text);
    let set = h
        .call(
            Method::PUT,
            "/api/v1/auth/language",
            &session,
            Some(json!({"language": "ru"})),
        )
        .await;
    assert_eq!(set.status, 204, "{}", set.text);
    let me = h.call(Method::GET, "/api/v1/auth/me", &session, None).await;
    assert_eq!(me.json["language"], "ru");
    let login = h
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({"user": "aigerim", "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.json["language"], "ru");
    let bad = h
        .call(
            Method::PUT,
            "/api/v1/auth/language",
            &session,
            Some(json!({"language": "de"})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.message().contains("expected kk, ru or en"),
        "{}",
        bad.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_is_created_with_its_sector_and_a_wrong_one_is_named() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let made = h
        .call(
            Method::POST,
            "/api/v1/tenants",
            &admin,
            Some(json!({"id": "energo", "name": "Energo", "sector": "energy"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.json["sector"], "energy");
    let read = h
        .call(Method::GET, "/api/v1/tenants/energo", &admin, None)
        .await;
    assert_eq!(read.json["sector"], "energy");
    let wrong = h
        .call(
            Method::POST,
            "/api/v1/tenants",
            &admin,
            Some(json!({"id": "space", "name": "Space", "sector": "space"})),
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert!(wrong.message().contains("sector `space`"), "{}", wrong.text);
    // Nothing was created by the refused request.
    let listed = h.call(Method::GET, "/api/v1/tenants", &admin, None).await;
    assert!(
        listed
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != "space"),
        "{}",
        listed.text
    );
}
