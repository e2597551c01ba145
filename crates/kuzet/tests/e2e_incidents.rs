//! An incident end to end through the real binary: sshd password guessing arrives by syslog and raises the
//! built-in correlation's alert; an analyst escalates the alert into an incident and confirms it; the response
//! plan's tasks appear; the tenant's owner is told by e-mail — seen by a real SMTP server (aiosmtpd) on loopback —
//! and its security officer by a signed webhook, whose signature the receiver checks; the owner's delivery
//! fulfils the owner-notification clock while the NCCIS clock stays due 15 minutes after confirmation; every
//! delivery is in the audit trail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::*;
use serde_json::{Value, json};

#[test]
fn guessing_becomes_a_confirmed_incident_and_the_owner_is_told_by_e_mail() {
    let mail = tempfile::tempdir().unwrap();
    let maildir = mail.path().join("maildir");
    let Some(smtp) = smtp(&maildir) else { return };
    let (hook_port, hooks) = webhook_receiver();
    let site = Site::new(
        &format!(
            r#"
[notify]
smtp_url = "smtp://127.0.0.1:{}"
interval = "100ms"
from = "Kuzet ISOC <isoc@kuzet.test>"

[[tenants]]
id = "akimat"
name = "Akimat of Astana"
[[tenants.sources]]
id = "akimat-linux"
format = "syslog"
peers = ["127.0.0.1/32"]
"#,
            smtp.port
        ),
        "",
    );
    let one_time = site.admin_one_time();
    let server = site.start();
    let admin = onboard(&server, "admin", &one_time, "tulip-steppe-river-2026");
    let contacts = "/api/v1/tenants/akimat/contacts";
    let (status, owner, _) = api(
        &server,
        "POST",
        contacts,
        Some(&admin),
        Some(
            json!({"role": "owner", "name": "Akim", "channel": "email", "address": "akim@akimat.kz", "language": "kk"}),
        ),
    );
    assert_eq!(status, 201, "{owner}");
    let (status, hook, _) = api(
        &server,
        "POST",
        contacts,
        Some(&admin),
        Some(
            json!({"role": "security", "name": "SOC", "channel": "webhook",
                    "address": format!("http://127.0.0.1:{hook_port}/kuzet"), "language": "ru"}),
        ),
    );
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    // A second security contact whose webhook nobody answers: its notice fails, waits, and health says so.
    let (status, dead, _) = api(
        &server,
        "POST",
        contacts,
        Some(&admin),
        Some(
            json!({"role": "security", "name": "old SOC", "channel": "webhook",
                    "address": format!("http://127.0.0.1:{}/gone", free_port()), "language": "en"}),
        ),
    );
    assert_eq!(status, 201, "{dead}");
    let analyst = add_user(
        &server,
        &admin,
        json!({"id": "aigerim", "roles": ["analyst"], "tenants": ["akimat"]}),
        "steppe-orbit-lake-2026",
    );

    // Password guessing over syslog: the built-in correlation raises its alert.
    let mut stream = TcpStream::connect(server.addresses.tcp.unwrap()).unwrap();
    for i in 0..12 {
        writeln!(
            stream,
            "<38>Dec  6 14:00:{i:02} web1 sshd[99]: Failed password for root from 203.0.113.7 port 40{i:02} ssh2"
        )
        .unwrap();
    }
    stream.flush().unwrap();
    let alert = wait_for("a password-guessing alert", || {
        let (_, alerts, _) = api(
            &server,
            "GET",
            "/api/v1/tenants/akimat/alerts",
            Some(&analyst),
            None,
        );
        alerts
            .as_array()?
            .iter()
            .find(|a| {
                a["rule"]["kind"] == "correlation" && a["rule"]["title"] == "SSH password guessing"
            })
            .cloned()
    });

    // The analyst opens an incident on it and confirms it.
    let (status, opened, _) = api(
        &server,
        "POST",
        "/api/v1/tenants/akimat/incidents",
        Some(&analyst),
        Some(json!({
            "title": alert["rule"]["title"],
            "alerts": [alert["id"]],
            "category": "intrusion-attempts.password-guessing",
            "facts": {"functional_impact": "low", "information_impact": "none", "recoverability": "regular",
                      "scope": "one_facility", "facility_class": 2, "stage": "ongoing"},
        })),
    );
    assert_eq!(status, 201, "{opened}");
    let incident = opened["id"].as_str().unwrap().to_owned();
    let (_, escalated, _) = api(
        &server,
        "GET",
        &format!(
            "/api/v1/tenants/akimat/alerts/{}",
            alert["id"].as_str().unwrap()
        ),
        Some(&analyst),
        None,
    );
    assert_eq!(escalated["status"], "escalated", "{escalated}");
    let (status, confirmed, _) = api(
        &server,
        "POST",
        &format!("/api/v1/tenants/akimat/incidents/{incident}/transitions"),
        Some(&analyst),
        Some(json!({"to": "confirmed"})),
    );
    assert_eq!(status, 200, "{confirmed}");
    assert!(
        confirmed["tasks"].as_array().unwrap().len() >= 11,
        "{confirmed}"
    );
    assert_eq!(confirmed["alerts"], json!([alert["id"]]), "{confirmed}");
    assert_eq!(
        confirmed["detected"], alert["first"],
        "detected when the alert first fired"
    );
    let clock = |kind: &str| -> Value {
        let (_, view, _) = api(
            &server,
            "GET",
            &format!("/api/v1/tenants/akimat/incidents/{incident}"),
            Some(&analyst),
            None,
        );
        view["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap()
            .clone()
    };

    // The owner's e-mail reaches the SMTP server, in Kazakh, naming the incident.
    let message = wait_for("the owner's e-mail in the SMTP server's maildir", || {
        let entry = std::fs::read_dir(maildir.join("new")).ok()?.next()?.ok()?;
        Some(std::fs::read_to_string(entry.path()).unwrap())
    });
    assert!(message.contains("To: akim@akimat.kz"), "{message}");
    assert!(message.contains("isoc@kuzet.test"), "{message}");
    assert!(
        message.contains("Content-Transfer-Encoding: base64"),
        "{message}"
    );
    let (_, encoded) = message.split_once("\n\n").unwrap();
    let text = {
        use base64::Engine as _;
        let joined: String = encoded.split_whitespace().collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
        )
        .unwrap()
    };
    assert!(text.contains(&format!("Инцидент: {incident}")), "{text}");
    assert!(text.contains("Ұйым: Akimat of Astana"), "{text}");

    // The security officer's webhook arrives signed; the receiver's own check passes.
    let (headers, body) = hooks.recv_timeout(DEADLINE).expect("a webhook delivery");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} header: {headers:?}"))
    };
    let timestamp = header("kuzet-timestamp");
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(&body);
    assert_eq!(
        header("kuzet-signature"),
        format!("v1={}", hmac_sha256_hex(&secret, &signed))
    );
    let document: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (document["v"].clone(), document["incident"].as_str()),
        (json!(1), Some(incident.as_str()))
    );
    assert!(
        document["subject"]
            .as_str()
            .unwrap()
            .contains("Подтверждён"),
        "{document}"
    );

    // The owner's delivery fulfilled the owner clock with the server's receipt; NCCIS is due 15 minutes after
    // confirmation, pending: the exchange fulfils it.
    let owner_clock = wait_for("the owner clock done", || {
        let c = clock("owner_notification");
        (c["clock"]["state"] == "done").then_some(c)
    });
    assert!(
        owner_clock["fulfilled"]["by"]
            .as_str()
            .unwrap()
            .contains("akim@akimat.kz accepted: 250"),
        "{owner_clock}"
    );
    let nccis = clock("nccis_report");
    let confirmed_at: jiff::Timestamp = nccis["fact"].as_str().unwrap().parse().unwrap();
    let due: jiff::Timestamp = nccis["due"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        due.duration_since(confirmed_at),
        jiff::SignedDuration::from_mins(15)
    );
    assert!(nccis["fulfilled"].is_null(), "{nccis}");
    let states = |sent: &Value| -> Vec<String> {
        let mut s: Vec<String> = sent
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["state"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    let sent = wait_for("the dead webhook's notice retrying", || {
        let (_, sent, _) = api(
            &server,
            "GET",
            "/api/v1/tenants/akimat/notifications",
            Some(&analyst),
            None,
        );
        (states(&sent) == ["delivered", "delivered", "retrying"]).then_some(sent)
    });
    let failed = sent
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["state"] == "retrying")
        .unwrap();
    assert!(
        failed["last_error"].as_str().unwrap().contains("/gone"),
        "{failed}"
    );
    assert!(failed["next_attempt"].is_string(), "{failed}");
    let health = wait_for("health warning of the failing notice", || {
        let (body, _) = curl(&["-s", &format!("http://{}/health", server.http())]);
        let health: Value = serde_json::from_str(&body).ok()?;
        (health["notifications"]["failing"] == 1).then_some(health)
    });
    assert_eq!(health["status"], "warning", "{health}");
    assert!(
        health["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("1 failing")),
        "{health}"
    );

    // The cause is written; the timeline tells the whole story in order.
    let (status, cause, _) = api(
        &server,
        "POST",
        &format!("/api/v1/tenants/akimat/incidents/{incident}/entries"),
        Some(&analyst),
        Some(json!({"kind": "cause", "text": "root may log in over SSH with a password on web1"})),
    );
    assert_eq!(status, 201, "{cause}");
    let (status, timeline, _) = api(
        &server,
        "GET",
        &format!("/api/v1/tenants/akimat/incidents/{incident}/timeline"),
        Some(&analyst),
        None,
    );
    assert_eq!(status, 200, "{timeline}");
    let kinds: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "detected",
        "alert",
        "status",
        "notification",
        "obligation",
        "cause",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing: {timeline}");
    }
    assert_eq!(kinds.last(), Some(&"cause"), "{timeline}");

    // The month's metrics count it: acknowledged (confirmed) once, nothing contained or closed yet.
    let local = kuzet_model::time::kz_local(jiff::Timestamp::now());
    let month = format!("{}-{:02}", local.year(), local.month());
    let (status, metrics, _) = api(
        &server,
        "GET",
        &format!("/api/v1/tenants/akimat/reports/metrics?month={month}&format=json"),
        Some(&analyst),
        None,
    );
    assert_eq!(status, 200, "{metrics}");
    let all = &metrics["groups"][0];
    assert_eq!(
        (all["group"].as_str(), all["incidents"].as_u64()),
        (Some("all"), Some(1)),
        "{metrics}"
    );
    assert_eq!(all["acknowledge"]["counted"], 1, "{metrics}");
    assert_eq!(all["close"]["counted"], 0, "{metrics}");

    server.stop();
    let audit = site.kuzet(&["audit", "--json"]);
    let deliveries = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .filter(|l| l.contains("notification.deliver") && l.contains("success"))
        .count();
    assert_eq!(deliveries, 2, "{}", String::from_utf8_lossy(&audit.stdout));
    drop(smtp);
}
