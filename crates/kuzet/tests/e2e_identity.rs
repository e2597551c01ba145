//! Identity end to end, with curl against the real binary: `kuzet init` prints the first administrator's one-time
//! password; the administrator logs in, is held to changing it and enrolling MFA, then creates a tenant, a source
//! and its machine token; the token ingests at once (the listeners see the API's change); after a restart the
//! sessions still hold, and `kuzet audit` and `kuzet verify` show every action sealed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn bootstrap_login_mfa_admin_actions_audited_and_sealed() {
    let site = Site::new("", "");
    let password = site
        .init_output
        .lines()
        .find_map(|l| l.split("one-time password ").nth(1))
        .expect("init prints a one-time password")
        .trim()
        .to_owned();
    // A second init creates no second administrator.
    let again = site.kuzet(&["init"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("no administrator created"));

    let server = site.start();
    let login = |password: &str, code: Option<String>| {
        let mut body = json!({"user": "admin", "password": password});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        api(&server, "POST", "/api/v1/auth/login", None, Some(body))
    };
    let (status, body, headers) = login(&password, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["onboarding"], "change_password");
    assert!(
        headers.contains("HttpOnly") && headers.contains("SameSite=Strict"),
        "{headers}"
    );
    let session = session_of(&headers, &body);
    let (status, _, _) = api(&server, "GET", "/api/v1/tenants", Some(&session), None);
    assert_eq!(status, 403);
    let new_password = "tulip-steppe-river-2026";
    let (status, body, _) = api(
        &server,
        "POST",
        "/api/v1/auth/password",
        Some(&session),
        Some(json!({"current": password, "new": new_password})),
    );
    assert_eq!(status, 204, "{body}");
    let (status, enrol, _) = api(
        &server,
        "POST",
        "/api/v1/auth/mfa/enrol",
        Some(&session),
        None,
    );
    assert_eq!(status, 200, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let code = kuzet_db::totp_code(&secret, jiff::Timestamp::now()).unwrap();
    let (status, body, _) = api(
        &server,
        "POST",
        "/api/v1/auth/mfa/confirm",
        Some(&session),
        Some(json!({"code": code})),
    );
    assert_eq!(status, 204, "{body}");

    // A wrong password, then a tenant, a source and its machine token.
    let (status, _, _) = login("not-the-password-1", None);
    assert_eq!(status, 401);
    let (status, body, _) = api(
        &server,
        "POST",
        "/api/v1/tenants",
        Some(&session),
        Some(json!({"id": "ministry", "name": "Ministry of Energy"})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body, _) = api(
        &server,
        "POST",
        "/api/v1/tenants/ministry/sources",
        Some(&session),
        Some(json!({"id": "ministry-beats", "name": "Winlogbeat", "format": "json"})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, token, _) = api(
        &server,
        "POST",
        "/api/v1/tenants/ministry/sources/ministry-beats/tokens",
        Some(&session),
        None,
    );
    assert_eq!(status, 201, "{token}");
    let machine = token["token"].as_str().unwrap();
    // The listeners attribute with the new token at once.
    let (body, status) = curl(&[
        "-H",
        &format!("Authorization: Bearer {machine}"),
        "--data-binary",
        r#"{"message":"hello from the new source","host":{"name":"min-dc1"}}"#,
        &format!("http://{}/ingest/v1/events", server.http()),
    ]);
    assert_eq!(status, 200, "{body}");
    // Revoked through the API, the listeners refuse it at once.
    let sha256 = token["sha256"].as_str().unwrap();
    let (status, body, _) = api(
        &server,
        "DELETE",
        &format!(
            "/api/v1/tenants/ministry/sources/ministry-beats/identities/token_sha256/{sha256}"
        ),
        Some(&session),
        None,
    );
    assert_eq!(status, 204, "{body}");
    let (body, status) = curl(&[
        "-H",
        &format!("Authorization: Bearer {machine}"),
        "--data-binary",
        r#"{"message":"after the revocation"}"#,
        &format!("http://{}/ingest/v1/events", server.http()),
    ]);
    assert_eq!(status, 401, "{body}");
    // Cross-site attempt: the cookie without the CSRF token.
    let (cookie, _) = &session;
    let (_, status) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Cookie: kuzet_session={cookie}"),
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"{"id":"evil","name":"x"}"#,
        &format!("http://{}/api/v1/tenants", server.http()),
    ]);
    assert_eq!(status, 403);
    server.stop();

    // After a restart the session holds (sessions live in the database).
    let server = site.start();
    let (status, tenants, _) = api(&server, "GET", "/api/v1/tenants", Some(&session), None);
    assert_eq!(status, 200, "{tenants}");
    assert!(
        tenants
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "ministry")
    );
    server.stop();

    let audit = site.kuzet(&["audit", "--json"]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let records: Vec<Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["record"]["action"].as_str().unwrap(),
                r["record"]["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("user.bootstrap", "success"),
        ("auth.login", "success"),
        ("tenant.list", "refused"),
        ("auth.password.change", "success"),
        ("auth.mfa.enrol", "success"),
        ("auth.mfa.confirm", "success"),
        ("auth.login", "failure"),
        ("tenant.create", "success"),
        ("source.create", "success"),
        ("source.token.create", "success"),
        ("source.identity.revoke", "success"),
        ("tenant.create", "refused"),
        ("tenant.list", "success"),
    ] {
        assert!(
            actions.contains(&expected),
            "{expected:?} missing from {actions:?}"
        );
    }
    assert_eq!(actions.len(), 13, "{actions:?}");
    let table = site.kuzet(&["audit", "--outcome", "refused"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("2 record(s)"), "{table}");
    let (intact, report) = site.verify();
    assert!(intact, "{report}");
    // The audit trail is one of the verified logs.
    let json = site.kuzet(&["verify", "--json"]);
    assert!(
        String::from_utf8_lossy(&json.stdout).contains("\"kuzet-audit\""),
        "{report}"
    );

    // The new source's event leaves as evidence: a signed bundle that verifies offline, and fails once changed.
    let events = site.export("ministry");
    assert_eq!(events.len(), 1, "{events:?}");
    // `kuzet ingest` knows the source made through the API, as `serve` does.
    let file = site.path("ministry.ndjson");
    std::fs::write(&file, "{\"message\":\"imported from a file\"}\n").unwrap();
    let file_arg = file.to_str().unwrap().to_owned();
    let imported = site.kuzet(&[
        "ingest",
        "--tenant",
        "ministry",
        "--source",
        "ministry-beats",
        &file_arg,
    ]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let id = events[0]["event"]["id"].as_str().unwrap().to_owned();
    let bundle = site.path("evidence");
    let bundle_arg = bundle.to_str().unwrap().to_owned();
    let exported = site.kuzet(&[
        "evidence",
        "export",
        "--tenant",
        "ministry",
        "--case",
        "incident 1",
        "--reason",
        "hand-over to the police",
        "--event",
        &id,
        "--out",
        &bundle_arg,
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let key = site.data_dir().join("archive").join("public.key");
    let key_arg = key.to_str().unwrap().to_owned();
    let checked = site.kuzet(&["verify-bundle", &bundle_arg, "--public-key", &key_arg]);
    let text = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(checked.status.success(), "{text}");
    assert!(
        text.contains("intact: 1 event(s) of tenant `ministry`"),
        "{text}"
    );
    let manifest = bundle.join("manifest.json");
    let changed = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("police", "press");
    std::fs::write(&manifest, changed).unwrap();
    let checked = site.kuzet(&["verify-bundle", &bundle_arg, "--public-key", &key_arg]);
    assert!(!checked.status.success());
    assert!(String::from_utf8_lossy(&checked.stdout).contains("manifest.sig"));

    // Root erases the whole audit trail, checkpoints included. The archive alone cannot tell; the checkpoint log
    // copied off the host earlier can, and `kuzet verify` names what is gone.
    let trail = site.data_dir().join("archive").join("kuzet-audit");
    let offsite = site.path("offsite-checkpoints.log");
    std::fs::copy(trail.join("checkpoints.log"), &offsite).unwrap();
    let offsite = offsite.to_str().unwrap().to_owned();
    let against = site.kuzet(&["verify", "--checkpoints", &offsite]);
    assert!(
        against.status.success(),
        "{}",
        String::from_utf8_lossy(&against.stdout)
    );
    std::fs::remove_dir_all(&trail).unwrap();
    let (intact, report) = site.verify();
    assert!(
        intact,
        "the archive alone does not know the trail existed: {report}"
    );
    let against = site.kuzet(&["verify", "--checkpoints", &offsite]);
    let text = String::from_utf8_lossy(&against.stdout);
    assert!(!against.status.success(), "{text}");
    assert!(
        text.contains("kuzet-audit") && text.contains("gone"),
        "{text}"
    );
}

#[test]
fn init_is_all_or_nothing_when_the_store_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kuzet.toml");
    let data = dir.path().join("data");
    let key = dir.path().join("keys/seal.key");
    std::fs::write(
        &config,
        format!("data_dir = {data:?}\nsigning_key = {key:?}\n"),
    )
    .unwrap();
    // Something in the way of the write-ahead log's directory: the store cannot open.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("wal"), b"not a directory").unwrap();
    let init = || {
        std::process::Command::new(KUZET)
            .arg("--config")
            .arg(&config)
            .arg("init")
            .env("KUZET_LOG", "warn")
            .output()
            .unwrap()
    };
    let failed = init();
    assert!(!failed.status.success());
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(!stdout.contains("one-time password"), "{stdout}");
    // Once the obstacle is gone, init creates the administrator and shows the password.
    std::fs::remove_file(data.join("wal")).unwrap();
    let done = init();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("one-time password"), "{stdout}");
}
