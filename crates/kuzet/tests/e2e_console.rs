//! The console in a real browser against the real binary: `browser/console.test.mjs` (playwright-core driving
//! Debian's chromium, headless, loopback only) logs an administrator in with a second factor, watches the overview
//! update live while password guessing arrives over syslog, triages the alert into an incident, confirms it and
//! completes a plan task, reads the pages in Russian and Kazakh, and checks that another organization's owner
//! reaches none of it. This side makes the people, runs the script and checks what the API and the audit trail
//! say afterwards. Screenshots are kept under `target/tmp/console-screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::json;

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../browser")
}

#[test]
fn the_console_in_a_real_browser() {
    let chromium = std::env::var("KUZET_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = which("node");
    assert!(
        node.is_some()
            && std::path::Path::new(&chromium).exists()
            && browser_dir().join("node_modules/playwright-core").exists(),
        "the console's browser test needs node, chromium ({chromium}) and browser/node_modules: \
         scripts/test installs them (apt-get install chromium; npm ci --prefix browser)"
    );
    let site = Site::new(
        r#"
[auth]
# The test's browser reaches the console over plain HTTP on loopback.
secure_cookies = false

[[tenants]]
id = "akimat"
name = "Akimat of Astana"
[[tenants.sources]]
id = "akimat-linux"
format = "syslog"
peers = ["127.0.0.1/32"]

[[tenants]]
id = "bank"
name = "Bank"
"#,
        "",
    );
    let one_time = site
        .init_output
        .lines()
        .find_map(|l| l.split("one-time password ").nth(1))
        .expect("init prints a one-time password")
        .trim()
        .to_owned();
    let server = site.start();
    let admin = onboard(&server, "admin", &one_time, "tulip-steppe-river-2026");
    let make = |id: &str, role: &str, tenants: &[&str]| -> String {
        let (status, made, _) = api(
            &server,
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"id": id, "roles": [role], "tenants": tenants})),
        );
        assert_eq!(status, 201, "{made}");
        made["one_time_password"].as_str().unwrap().to_owned()
    };
    // The browser onboards this administrator itself, second factor and all.
    let zhanna = make("zhanna", "isoc-admin", &[]);
    let aigerim = make("aigerim", "analyst", &["akimat"]);
    onboard(&server, "aigerim", &aigerim, "steppe-orbit-lake-2026");
    let owner = make("marat", "tenant-owner", &["bank"]);
    onboard(&server, "marat", &owner, "lake-orbit-tulip-2026");

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let output = Command::new(node.unwrap())
        .arg(browser_dir().join("console.test.mjs"))
        .env("KUZET_URL", format!("http://{}", server.http()))
        .env(
            "KUZET_SYSLOG_TCP",
            server.addresses.tcp.unwrap().to_string(),
        )
        .env("KUZET_SCREENSHOTS", &shots)
        .env("KUZET_CHROMIUM", &chromium)
        .env("KUZET_ADMIN_USER", "zhanna")
        .env("KUZET_ADMIN_ONE_TIME", &zhanna)
        .env("KUZET_ANALYST_USER", "aigerim")
        .env("KUZET_ANALYST_PASSWORD", "steppe-orbit-lake-2026")
        .env("KUZET_OWNER_USER", "marat")
        .env("KUZET_OWNER_PASSWORD", "lake-orbit-tulip-2026")
        .output()
        .expect("node runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{said}");
    assert!(output.status.success(), "the browser test failed:\n{said}");

    // What the browser did went through the API: the incident, its confirmation, the task, each in the audit trail.
    let (status, incidents, _) = api(
        &server,
        "GET",
        "/api/v1/tenants/akimat/incidents",
        Some(&admin),
        None,
    );
    // The administrator sees no tenant content: the analyst's own session reads it back.
    assert_eq!(status, 403, "{incidents}");
    let analyst = {
        let (status, body, headers) = api(
            &server,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"user": "aigerim", "password": "steppe-orbit-lake-2026"})),
        );
        assert_eq!(status, 200, "{body}");
        session_of(&headers, &body)
    };
    let (_, incidents, _) = api(
        &server,
        "GET",
        "/api/v1/tenants/akimat/incidents",
        Some(&analyst),
        None,
    );
    let incident = &incidents.as_array().unwrap()[0];
    assert_eq!(incident["title"], "Password guessing on web1");
    assert_eq!(incident["status"], "confirmed");
    assert_eq!(incident["alerts"].as_array().unwrap().len(), 1);
    let done: Vec<_> = incident["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["done"].is_null())
        .collect();
    assert_eq!(done.len(), 1, "{incident}");
    assert_eq!(done[0]["done"]["by"], "aigerim");
    // Sealed a moment after the answers: wait for the trail to hold each.
    let wanted = [
        ("incident.create", "aigerim", "success"),
        ("incident.transition", "aigerim", "success"),
        ("incident.task.done", "aigerim", "success"),
        ("overview.view", "aigerim", "success"),
        ("events.search", "aigerim", "success"),
        ("event.view", "aigerim", "success"),
        ("incident.evidence.attach", "aigerim", "success"),
        ("incident.entry.add", "aigerim", "success"),
        ("incident.evidence.file.attach", "aigerim", "success"),
        ("incident.evidence.file.get", "aigerim", "success"),
        ("user.create", "zhanna", "success"),
        ("rule.setting.change", "zhanna", "success"),
        ("asset.create", "marat", "success"),
        ("risk.create", "zhanna", "success"),
        ("incident.risk.link", "aigerim", "success"),
        ("auth.mfa.confirm", "zhanna", "success"),
        // The owner's attempt on another organization's incident.
        ("incident.view", "marat", "refused"),
    ];
    wait_for("the console's actions in the audit trail", || {
        let audit = site.kuzet(&["audit", "--json"]);
        let records: Vec<serde_json::Value> = String::from_utf8_lossy(&audit.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        wanted
            .iter()
            .all(|(action, user, outcome)| {
                records.iter().any(|r| {
                    let r = &r["record"];
                    r["action"] == *action
                        && r["actor"]["user"] == *user
                        && r["outcome"] == *outcome
                })
            })
            .then_some(())
    });
    // The incident's evidence leaves as a signed bundle — its event's proof and the uploaded file — that verifies
    // offline with the public key alone.
    let bundle = site.path("bundle");
    let bundle_arg = bundle.to_str().unwrap().to_owned();
    let incident_id = incident["id"].as_str().unwrap().to_owned();
    let exported = site.kuzet(&[
        "evidence",
        "export",
        "--tenant",
        "akimat",
        "--case",
        "password guessing on web1",
        "--reason",
        "hand-over to the investigator",
        "--incident",
        &incident_id,
        "--out",
        &bundle_arg,
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["files"][0]["name"], "web1-auth.log", "{manifest}");
    assert_eq!(manifest["items"].as_array().unwrap().len(), 1, "{manifest}");
    let key = site.data_dir().join("archive").join("public.key");
    let checked = site.kuzet(&[
        "verify-bundle",
        &bundle_arg,
        "--public-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );

    for shot in [
        "overview-administrator",
        "overview-analyst",
        "alerts",
        "incident",
        "search",
        "event",
        "incident-ru",
        "overview-kk",
    ] {
        assert!(
            shots.join(format!("{shot}.png")).exists(),
            "screenshot {shot}"
        );
    }
}
