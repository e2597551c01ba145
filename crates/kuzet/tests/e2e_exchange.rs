//! The NCCIS exchange between two real processes on loopback: an ISOC and a hub (`serve --role nccis`), with
//! mutual-TLS certificates from `kuzet pki`. An incident confirmed at the ISOC is at the hub, its signature
//! verified — here also by openssl, independently of Kuzet's code — and the hub's receipt fulfils the NCCIS
//! clock. The hub stopped meanwhile and the ISOC restarted while a message waits: the outbox retries, nothing is
//! lost, nothing is stored twice. A replayed message gets a duplicate receipt and a tampered one or one from an
//! unregistered certificate is refused, each refusal in the hub's audit trail. An advisory an NCCIS officer issues
//! at the hub reaches, at the ISOC, only the tenant whose assets it names, with only its part.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{Value, json};

fn kuzet(args: &[&str]) -> String {
    let output = Command::new(KUZET).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "kuzet {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn ok(output: std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The messages the hub holds, oldest first.
fn hub_messages(hub: &Site) -> Vec<Value> {
    ok(
        hub.kuzet(&["hub", "messages", "--json"]),
        "kuzet hub messages",
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

/// Verifies a detached JWS (EdDSA) over `body` with the public key of `certificate`, using openssl only.
fn openssl_verifies(dir: &Path, certificate: &Path, jws: &str, body: &[u8]) -> bool {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (header, signature) = jws.split_once("..").unwrap();
    let header_json: Value = serde_json::from_slice(&b64.decode(header).unwrap()).unwrap();
    assert_eq!(header_json["alg"], "EdDSA");
    std::fs::write(dir.join("input"), format!("{header}.{}", b64.encode(body))).unwrap();
    std::fs::write(dir.join("sig"), b64.decode(signature).unwrap()).unwrap();
    let public = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(certificate)
        .output()
        .unwrap();
    std::fs::write(dir.join("pub.pem"), &public.stdout).unwrap();
    Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
        .arg(dir.join("pub.pem"))
        .arg("-in")
        .arg(dir.join("input"))
        .arg("-sigfile")
        .arg(dir.join("sig"))
        .output()
        .unwrap()
        .status
        .success()
}

/// POSTs a message to the hub with curl and a client certificate (or none): (status, body, headers).
fn post(
    pki: &Path,
    port: u16,
    client: Option<&str>,
    jws: &str,
    body: &Path,
) -> (u16, String, String) {
    let url = format!("https://127.0.0.1:{port}/nccis/v1/messages");
    let mut args: Vec<String> = vec![
        "-i".into(),
        "--cacert".into(),
        pki.join("ca.pem").display().to_string(),
    ];
    if let Some(client) = client {
        args.extend([
            "--cert".into(),
            pki.join(format!("{client}.pem")).display().to_string(),
            "--key".into(),
            pki.join(format!("{client}-key.pem")).display().to_string(),
        ]);
    }
    args.extend([
        "-H".into(),
        "content-type: application/json".into(),
        "-H".into(),
        format!("kuzet-jws: {jws}"),
        "--data-binary".into(),
        format!("@{}", body.display()),
        url,
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (text, status) = curl(&refs);
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    (status, body.to_owned(), headers.to_lowercase())
}

/// `kuzet hub register` of the ISOC `isoc-alatau` with its certificate `certificate`, at the hub `hub`.
fn register_alatau(hub: &Site, certificate: &str) {
    let registered = ok(
        hub.kuzet(&[
            "hub",
            "register",
            "--id",
            "isoc-alatau",
            "--name",
            "Alatau ISOC",
            "--certificate",
            certificate,
        ]),
        "kuzet hub register",
    );
    assert!(
        registered.contains("registered ISOC `isoc-alatau`"),
        "{registered}"
    );
}

/// The ISOC's administrator grants the access request `request` to a new NCCIS auditor `nccis-1`: the decision.
fn grant_access(isoc: &Server, admin: &(String, String), request: &Value) -> Value {
    let (status, made, _) = api(
        isoc,
        "POST",
        "/api/v1/users",
        Some(admin),
        Some(json!({"id": "nccis-1", "roles": ["nccis-auditor"]})),
    );
    assert_eq!(status, 201, "{made}");
    let (status, decided, _) = api(
        isoc,
        "POST",
        &format!(
            "/api/v1/access-requests/{}/decision",
            request["id"].as_str().unwrap()
        ),
        Some(admin),
        Some(json!({"grant": true, "user": "nccis-1"})),
    );
    assert_eq!(status, 200, "{decided}");
    decided
}

/// Whether `xmllint` finds `document` valid against the published XSD of the exchange (else what it said).
fn xsd_valid(dir: &Path, document: &str) -> Result<(), String> {
    let xmllint = which("xmllint")
        .expect("xmllint not found: scripts/test installs it (Debian libxml2-utils)");
    let file = dir.join("message.xml");
    std::fs::write(&file, document).unwrap();
    let xsd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/formats/nccis-exchange-v1.xsd"
    );
    let linted = Command::new(xmllint)
        .args(["--noout", "--nonet", "--schema", xsd])
        .arg(&file)
        .output()
        .unwrap();
    if linted.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&linted.stderr).into_owned())
    }
}

#[test]
fn a_confirmed_incident_reaches_the_hub_signed_once_through_outages_and_restarts() {
    let work = tempfile::tempdir().unwrap();
    let pki = work.path().join("pki");
    let dir = pki.to_str().unwrap();
    kuzet(&["pki", "ca", "--dir", dir, "--name", "Test NCCIS CA"]);
    kuzet(&[
        "pki",
        "issue",
        "--dir",
        dir,
        "--name",
        "hub",
        "--server",
        "127.0.0.1",
    ]);
    kuzet(&["pki", "issue", "--dir", dir, "--name", "isoc-alatau"]);
    kuzet(&["pki", "issue", "--dir", dir, "--name", "intruder"]);
    let shown = kuzet(&["pki", "show", pki.join("isoc-alatau.pem").to_str().unwrap()]);
    assert!(shown.contains("subject:     isoc-alatau"), "{shown}");
    assert!(shown.contains("key:         ed25519"), "{shown}");
    let path = |name: &str| pki.join(name).display().to_string();

    // The hub, with the ISOC registered by its certificate, and a national-security duty address told of every
    // incident of level 3 or more through a real SMTP server, and a duty system through a signed webhook.
    let maildir = work.path().join("maildir");
    let Some(smtp) = smtp(&maildir) else { return };
    let (hook_port, hooks) = webhook_receiver();
    let hook_key = "knb-duty-webhook-key-0123456789abcdef";
    let hook_key_file = work.path().join("knb.key");
    std::fs::write(&hook_key_file, format!("{hook_key}\n")).unwrap();
    let port = free_port();
    let hub_site = Site::new(
        &format!(
            "[hub]\nlisten = \"127.0.0.1:{port}\"\ncertificate = {:?}\nkey = {:?}\nclient_ca = {:?}\n\
             escalate = [{{ address = \"duty@knb.test\", language = \"ru\" }}, \
             {{ address = \"http://127.0.0.1:{hook_port}/duty\", language = \"kk\", secret_file = {hook_key_file:?} }}]\n\n\
             [notify]\nsmtp_url = \"smtp://127.0.0.1:{}\"\ninterval = \"100ms\"\n",
            path("hub.pem"),
            path("hub-key.pem"),
            path("ca.pem"),
            smtp.port
        ),
        "",
    );
    register_alatau(&hub_site, &path("isoc-alatau.pem"));
    let hub = hub_site.start_with(&["--role", "nccis"]);
    assert_eq!(hub.addresses.hub.map(|a| a.port()), Some(port));

    // The ISOC, reporting to it; its detection matches a feed of one scanner's address.
    let feed = work.path().join("scanners.csv");
    std::fs::write(
        &feed,
        "type,value,description\nip,203.0.113.7,known SSH scanner\n",
    )
    .unwrap();
    let isoc_site = Site::new(
        &format!(
            r#"
[exchange]
hub_url = "https://127.0.0.1:{port}"
party = "isoc-alatau"
ca = {:?}
certificate = {:?}
key = {:?}
hub_certificate = {:?}
interval = "100ms"
retry_base = "200ms"

[detection]
indicators = [{:?}]

[[tenants]]
id = "akimat"
name = "Akimat of Astana"
sector = "government"
[[tenants.sources]]
id = "akimat-linux"
format = "syslog"
peers = ["127.0.0.1/32"]

[[tenants]]
id = "bank"
name = "Bank of the Steppe"
"#,
            path("ca.pem"),
            path("isoc-alatau.pem"),
            path("isoc-alatau-key.pem"),
            path("hub.pem"),
            feed
        ),
        "",
    );
    let one_time = isoc_site.admin_one_time();
    let isoc = isoc_site.start();
    let admin = onboard(&isoc, "admin", &one_time, "tulip-steppe-river-2026");
    let analyst = add_user(
        &isoc,
        &admin,
        json!({"id": "aigerim", "roles": ["analyst"], "tenants": ["akimat", "bank"]}),
        "steppe-orbit-lake-2026",
    );
    let (status, opened, _) = api(
        &isoc,
        "POST",
        "/api/v1/tenants/akimat/incidents",
        Some(&analyst),
        Some(json!({
            "title": "Ransomware on the portal",
            "category": "malicious-code",
            "facts": {"functional_impact": "high", "information_impact": "none", "recoverability": "supplemented",
                      "scope": "one_facility", "facility_class": 2, "stage": "ongoing"},
        })),
    );
    assert_eq!(status, 201, "{opened}");
    let incident = opened["id"].as_str().unwrap().to_owned();
    let transition = |server: &Server, to: &str| {
        let (status, body, _) = api(
            server,
            "POST",
            &format!("/api/v1/tenants/akimat/incidents/{incident}/transitions"),
            Some(&analyst),
            Some(json!({"to": to})),
        );
        assert_eq!(status, 200, "{body}");
    };
    let (status, overridden, _) = api(
        &isoc,
        "POST",
        &format!("/api/v1/tenants/akimat/incidents/{incident}/level"),
        Some(&analyst),
        Some(json!({"level": 3, "reason": "the portal serves the whole city"})),
    );
    assert_eq!(status, 200, "{overridden}");
    transition(&isoc, "confirmed");

    // At the hub, signed by the ISOC's key; the receipt back fulfils the NCCIS clock at the ISOC.
    let nccis = wait_for("the NCCIS clock fulfilled by the hub's receipt", || {
        let (_, view, _) = api(
            &isoc,
            "GET",
            &format!("/api/v1/tenants/akimat/incidents/{incident}"),
            Some(&analyst),
            None,
        );
        let clock = view["obligations"]
            .as_array()?
            .iter()
            .find(|o| o["kind"] == "nccis_report")?
            .clone();
        (clock["clock"]["state"] == "done").then_some(clock)
    });
    let by = nccis["fulfilled"]["by"].as_str().unwrap();
    assert!(
        by.contains("NCCIS receipt") && by.contains("accepted"),
        "{by}"
    );
    let received = hub_messages(&hub_site);
    assert_eq!(received.len(), 1, "{received:?}");
    let first = &received[0];
    assert_eq!(
        (
            first["isoc"].as_str(),
            first["kind"].as_str(),
            first["tenant"].as_str()
        ),
        (
            Some("isoc-alatau"),
            Some("incident.initial"),
            Some("akimat")
        )
    );
    assert_eq!(first["message"]["payload"]["incident"], incident.as_str());
    assert_eq!(first["message"]["payload"]["status"], "confirmed");
    assert_eq!(first["message"]["sender"], "isoc-alatau");
    let body = first["body"].as_str().unwrap().as_bytes().to_vec();
    let jws = first["jws"].as_str().unwrap().to_owned();
    assert!(
        openssl_verifies(work.path(), &pki.join("isoc-alatau.pem"), &jws, &body),
        "openssl verifies the ISOC's signature as the hub stored it"
    );
    let mut changed = body.clone();
    changed[10] ^= 1;
    assert!(
        !openssl_verifies(work.path(), &pki.join("isoc-alatau.pem"), &jws, &changed),
        "and refuses it over a changed byte"
    );
    let (_, sent, _) = api(
        &isoc,
        "GET",
        "/api/v1/tenants/akimat/exchange",
        Some(&analyst),
        None,
    );
    let sent = sent.as_array().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["state"], "delivered");
    let receipt = &sent[0]["receipt"];
    assert_eq!(receipt["message"]["in_reply_to"], first["id"]);
    assert_eq!(receipt["message"]["payload"]["status"], "accepted");
    assert!(
        openssl_verifies(
            work.path(),
            &pki.join("hub.pem"),
            receipt["jws"].as_str().unwrap(),
            receipt["body"].as_str().unwrap().as_bytes()
        ),
        "openssl verifies the hub's signature on the receipt the ISOC kept"
    );

    // Level 3: the hub tells the national-security duty address, in Russian, once.
    let mail = wait_for("the escalation e-mail at the hub's SMTP server", || {
        let entry = std::fs::read_dir(maildir.join("new")).ok()?.next()?.ok()?;
        Some(std::fs::read_to_string(entry.path()).unwrap())
    });
    assert!(mail.contains("To: duty@knb.test"), "{mail}");
    // And the duty system, in Kazakh, by a webhook signed with its key.
    let (headers, hook) = hooks
        .recv_timeout(DEADLINE)
        .expect("the escalation webhook at the duty system");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} header: {headers:?}"))
    };
    let mut signed = format!("{}.", header("kuzet-timestamp")).into_bytes();
    signed.extend_from_slice(&hook);
    assert_eq!(
        header("kuzet-signature"),
        format!("v1={}", hmac_sha256_hex(hook_key, &signed))
    );
    let escalated: Value = serde_json::from_slice(&hook).unwrap();
    assert_eq!(
        (
            escalated["kind"].as_str(),
            escalated["incident"].as_str(),
            escalated["isoc"].as_str(),
            escalated["level"].as_u64()
        ),
        (
            Some("escalation"),
            Some(incident.as_str()),
            Some("isoc-alatau"),
            Some(3)
        )
    );
    assert!(
        escalated["subject"].as_str().unwrap().contains("АҚҮҰО"),
        "in Kazakh: {escalated}"
    );

    // Replays and forgeries, straight at the hub with curl: a replay gets a duplicate receipt and stores
    // nothing; a changed byte, or a certificate the hub does not know, is refused; no certificate, no TLS.
    let body_file = work.path().join("body.json");
    std::fs::write(&body_file, &body).unwrap();
    let (status, answer, headers) = post(&pki, port, Some("isoc-alatau"), &jws, &body_file);
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["payload"]["status"], "duplicate");
    assert!(headers.contains("kuzet-jws: "), "{headers}");
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("Ransomware", "Ransomwar3");
    std::fs::write(&body_file, tampered).unwrap();
    let (status, answer, _) = post(&pki, port, Some("isoc-alatau"), &jws, &body_file);
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("does not verify"), "{answer}");
    std::fs::write(&body_file, &body).unwrap();
    let (status, answer, _) = post(&pki, port, Some("intruder"), &jws, &body_file);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("not registered"), "{answer}");
    let (status, _, _) = post(&pki, port, None, &jws, &body_file);
    assert_eq!(status, 0, "no client certificate: the TLS handshake fails");
    assert_eq!(hub_messages(&hub_site).len(), 1, "nothing stored twice");

    // The hub goes down; the incident moves on; the ISOC fails, retries, and is itself restarted meanwhile.
    hub.stop();
    transition(&isoc, "contained");
    isoc.wait_metric("kuzet_exchange_total{outcome=\"failed\"}", 1.0);
    isoc.stop();
    let isoc = isoc_site.start();
    // The restarted ISOC still holds the update, undelivered, and says so.
    wait_for("health to count the waiting message", || {
        let (_, health, _) = api(&isoc, "GET", "/health", None, None);
        (health["exchange"]["undelivered"] == 1).then_some(())
    });
    isoc.wait_metric("kuzet_exchange_total{outcome=\"failed\"}", 1.0);
    let hub = hub_site.start_with(&["--role", "nccis"]);
    let received = wait_for("the update at the hub after its restart", || {
        let received = hub_messages(&hub_site);
        (received.len() >= 2).then_some(received)
    });
    isoc.wait_metric("kuzet_exchange_total{outcome=\"delivered\"}", 1.0);
    let kinds: Vec<(&str, &str)> = received
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap(),
                m["message"]["payload"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("incident.initial", "confirmed"),
            ("incident.update", "contained")
        ]
    );
    let (_, sent, _) = api(
        &isoc,
        "GET",
        "/api/v1/tenants/akimat/exchange",
        Some(&analyst),
        None,
    );
    let states: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["delivered", "delivered"]);
    let update = &sent.as_array().unwrap()[0];
    assert!(update["attempts"].as_u64().unwrap() >= 2, "{update}");

    // An advisory from the hub reaches only the tenant whose assets match, with only its part.
    for (tenant, asset) in [
        (
            "akimat",
            json!({"name": "citizen portal", "product": "cpe:2.3:a:bitrix:site_manager:22.5.1",
                          "addresses": ["10.0.0.5"]}),
        ),
        (
            "bank",
            json!({"name": "core database", "product": "cpe:2.3:a:postgresql:postgresql", "version": "15.4"}),
        ),
    ] {
        let (status, made, _) = api(
            &isoc,
            "POST",
            &format!("/api/v1/tenants/{tenant}/assets"),
            Some(&admin),
            Some(asset),
        );
        assert_eq!(status, 201, "{made}");
    }
    let (status, contact, _) = api(
        &isoc,
        "POST",
        "/api/v1/tenants/akimat/contacts",
        Some(&admin),
        Some(
            json!({"role": "security", "name": "SOC", "channel": "email", "address": "soc@akimat.kz", "language": "ru"}),
        ),
    );
    assert_eq!(status, 201, "{contact}");
    // A change of contacts is reported too (R14), its receipt closing the 48-hour clock.
    let change = wait_for("the contacts change at the hub", || {
        hub_messages(&hub_site)
            .into_iter()
            .find(|m| m["kind"] == "contacts.change")
    });
    assert_eq!(
        change["message"]["payload"]["contacts"][0]["address"],
        "soc@akimat.kz"
    );
    wait_for("the contact-change clock done by the receipt", || {
        let (_, clocks, _) = api(
            &isoc,
            "GET",
            "/api/v1/tenants/akimat/obligations",
            Some(&analyst),
            None,
        );
        clocks
            .as_array()?
            .iter()
            .find(|o| o["kind"] == "contact_change" && o["clock"]["state"] == "done")
            .cloned()
    });
    // The quarterly confirmation of contacts (R21) goes the same way.
    let (status, confirmed, _) = api(
        &isoc,
        "POST",
        "/api/v1/tenants/akimat/contacts/confirm",
        Some(&admin),
        None,
    );
    assert_eq!(status, 202, "{confirmed}");
    let confirmation = wait_for("the confirmation of contacts at the hub", || {
        hub_messages(&hub_site)
            .into_iter()
            .find(|m| m["kind"] == "contacts.confirmation")
    });
    assert_eq!(confirmation["message"]["id"], confirmed["message"]);
    let hub_one_time = hub_site.admin_one_time();
    let hub_admin = onboard(&hub, "admin", &hub_one_time, "tulip-steppe-river-2026");
    let officer = add_user(
        &hub,
        &hub_admin,
        json!({"id": "dana", "roles": ["nccis-officer"]}),
        "orbit-steppe-lake-2026",
    );
    let advisory = json!({
        "type": "vulnerability", "title": "Remote code execution in the portal CMS", "severity": "critical",
        "description": "A crafted request runs code as the web server.", "cve": ["CVE-2026-12345"],
        "affected": [
            {"product": "cpe:2.3:a:bitrix:site_manager", "versions": ">=20.0, <23.100.0"},
            {"product": "pkg:npm/lodash", "versions": "<4.17.21"}
        ],
        "addresses": ["198.51.100.0/24"],
        "remedies": ["Update to 23.100.0"]
    });
    let (status, refused, _) = api(
        &hub,
        "POST",
        "/api/v1/hub/advisories",
        Some(&officer),
        Some(
            json!({"advisory": {"type": "rumour", "title": "x", "severity": "low", "description": "x"}}),
        ),
    );
    assert_eq!(status, 422, "schema-checked before it is issued: {refused}");
    let (status, issued, _) = api(
        &hub,
        "POST",
        "/api/v1/hub/advisories",
        Some(&officer),
        Some(json!({"advisory": advisory})),
    );
    assert_eq!(status, 201, "{issued}");
    assert_eq!(issued["issued"][0]["isoc"], "isoc-alatau");
    let got = wait_for("the advisory at the tenant it concerns", || {
        let (_, list, _) = api(
            &isoc,
            "GET",
            "/api/v1/tenants/akimat/advisories",
            Some(&analyst),
            None,
        );
        list.as_array().filter(|l| !l.is_empty()).cloned()
    });
    assert_eq!(got.len(), 1);
    let part = &got[0]["part"];
    assert_eq!(part["title"], "Remote code execution in the portal CMS");
    assert_eq!(
        part["affected"].as_array().unwrap().len(),
        1,
        "only its product: {part}"
    );
    assert_eq!(
        part["affected"][0]["product"],
        "cpe:2.3:a:bitrix:site_manager"
    );
    assert!(
        part.get("addresses").is_none(),
        "nor another tenant's ranges: {part}"
    );
    assert_eq!(got[0]["message"], issued["issued"][0]["message"]);
    let (_, bank, _) = api(
        &isoc,
        "GET",
        "/api/v1/tenants/bank/advisories",
        Some(&analyst),
        None,
    );
    assert_eq!(bank, json!([]), "the bank runs nothing it names");
    let (_, notes, _) = api(
        &isoc,
        "GET",
        "/api/v1/tenants/akimat/notifications",
        Some(&analyst),
        None,
    );
    let note = notes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "advisory")
        .expect("the tenant's contact is told");
    assert!(
        note["subject"].as_str().unwrap().contains("НКЦИБ"),
        "{note}"
    );
    let (_, notes, _) = api(
        &isoc,
        "GET",
        "/api/v1/tenants/bank/notifications",
        Some(&analyst),
        None,
    );
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "advisory"),
        "{notes}"
    );

    // The national view: the incident at its latest step, reported in time, counted by level, ISOC, sector (the
    // ISOC's configuration says the akimat's) and status.
    let (status, national, _) = api(&hub, "GET", "/api/v1/hub/incidents", Some(&officer), None);
    assert_eq!(status, 200, "{national}");
    let reported = national["incidents"].as_array().unwrap();
    assert_eq!(reported.len(), 1, "{national}");
    assert_eq!(
        (
            reported[0]["incident"].as_str(),
            reported[0]["status"].as_str(),
            reported[0]["messages"].as_u64()
        ),
        (Some(incident.as_str()), Some("contained"), Some(2))
    );
    assert_eq!(reported[0]["late"], false);
    assert_eq!(national["by_isoc"], json!({"isoc-alatau": 1}));
    assert_eq!(national["by_sector"], json!({"government": 1}));
    assert_eq!(reported[0]["sector"], "government");
    assert_eq!(national["by_status"], json!({"contained": 1}));
    let level = reported[0]["level"].as_u64().unwrap().to_string();
    assert_eq!(national["by_level"][&level], 1);

    // The scanner seen at the akimat: the first sighting is reported to NCCIS with the alert, and the hub
    // counts it by indicator, ISOC and organization.
    let mut stream = std::net::TcpStream::connect(isoc.addresses.tcp.unwrap()).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"<38>Dec  7 10:00:00 web1 sshd[99]: Failed password for root from 203.0.113.7 port 4000 ssh2\n",
    )
    .unwrap();
    let seen = wait_for("the sighting at the hub", || {
        let (_, list, _) = api(&hub, "GET", "/api/v1/hub/sightings", Some(&officer), None);
        list.as_array()?.first().cloned()
    });
    assert_eq!(seen["pattern"], "[ipv4-addr:value = '203.0.113.7']");
    assert_eq!(seen["isocs"], json!(["isoc-alatau"]));
    assert_eq!(
        (seen["organizations"].as_u64(), seen["reports"].as_u64()),
        (Some(1), Some(1))
    );
    let (status, updates, _) = api(
        &hub,
        "GET",
        "/api/v1/hub/messages?kind=incident.update",
        Some(&officer),
        None,
    );
    assert_eq!(status, 200, "{updates}");
    assert_eq!(updates.as_array().unwrap().len(), 1, "{updates}");
    assert_eq!(updates[0]["message"]["payload"]["status"], "contained");
    let (status, _, _) = api(
        &hub,
        "GET",
        "/api/v1/hub/messages?kind=rumour",
        Some(&officer),
        None,
    );
    assert_eq!(status, 400, "an unknown kind is named, not an empty list");
    let (status, _, _) = api(&hub, "GET", "/api/v1/hub/incidents", Some(&hub_admin), None);
    assert_eq!(
        status, 403,
        "the hub's administrator does not read the national view"
    );

    // The hub's administrator registers an ISOC while the hub runs, and revokes it: the intruder's certificate,
    // refused as unknown before, is now recognized (its message still fails: signed for another sender), then
    // refused again.
    let (status, registered, _) = api(
        &hub,
        "POST",
        "/api/v1/hub/isocs",
        Some(&hub_admin),
        Some(json!({"id": "isoc-new", "name": "New ISOC",
                    "certificate": std::fs::read_to_string(pki.join("intruder.pem")).unwrap()})),
    );
    assert_eq!(status, 201, "{registered}");
    let (status, answer, _) = post(&pki, port, Some("intruder"), &jws, &body_file);
    assert_eq!(
        status, 401,
        "recognized, but the signature is not its own: {answer}"
    );
    let (status, _, _) = api(
        &hub,
        "DELETE",
        "/api/v1/hub/isocs/isoc-new",
        Some(&hub_admin),
        None,
    );
    assert_eq!(status, 204);
    let (status, answer, _) = post(&pki, port, Some("intruder"), &jws, &body_file);
    assert_eq!(status, 403, "revoked: {answer}");
    let (_, isocs, _) = api(&hub, "GET", "/api/v1/hub/isocs", Some(&hub_admin), None);
    assert_eq!(isocs.as_array().unwrap().len(), 2, "{isocs}");

    // NCCIS asks for read access to the tenant's logs (R19); the ISOC's administrator grants it to an NCCIS
    // auditor for the period asked, and the answer reaches the hub.
    let from = jiff::Timestamp::now();
    let (status, asked, _) = api(
        &hub,
        "POST",
        "/api/v1/hub/access-requests",
        Some(&officer),
        Some(
            json!({"isoc": "isoc-alatau", "tenant": "akimat", "from": from.to_string(),
                    "to": (from + jiff::SignedDuration::from_hours(24)).to_string(),
                    "reason": "the ransomware campaign of December"}),
        ),
    );
    assert_eq!(status, 201, "{asked}");
    let request = wait_for("the access request at the ISOC", || {
        let (_, list, _) = api(&isoc, "GET", "/api/v1/access-requests", Some(&admin), None);
        list.as_array()?.first().cloned()
    });
    assert_eq!(
        (
            request["id"].clone(),
            request["tenant"].as_str(),
            request["state"].as_str()
        ),
        (asked["message"].clone(), Some("akimat"), Some("pending"))
    );
    let decided = grant_access(&isoc, &admin, &request);
    assert!(decided["grant"].is_string(), "{decided}");
    let answer = wait_for("the grant at the hub", || {
        hub_messages(&hub_site)
            .into_iter()
            .find(|m| m["kind"] == "access.grant")
    });
    assert_eq!(answer["message"]["payload"]["granted"], true);
    assert_eq!(answer["message"]["payload"]["request"], request["id"]);
    assert_eq!(answer["message"]["payload"]["grant"], decided["grant"]);

    // The quarterly report (R20) travels the same way: the quarter's incidents with their measures.
    let quarter = kuzet_cases::Quarter::of(jiff::Timestamp::now());
    let (status, submitted, _) = api(
        &isoc,
        "POST",
        "/api/v1/tenants/akimat/reports/quarterly/submit",
        Some(&analyst),
        Some(json!({"year": quarter.year, "quarter": quarter.number})),
    );
    assert_eq!(status, 202, "{submitted}");
    let report = wait_for("the quarterly report at the hub", || {
        hub_messages(&hub_site)
            .into_iter()
            .find(|m| m["kind"] == "report.quarterly")
    });
    assert_eq!(report["message"]["id"], submitted["message"]);
    let rows = report["message"]["payload"]["incidents"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["incident"], incident.as_str());
    assert!(rows[0]["measures"].is_array(), "{report}");

    assert_eq!(
        std::fs::read_dir(maildir.join("new")).unwrap().count(),
        1,
        "the update of the same incident is not escalated again"
    );
    let escalations = ok(
        hub_site.kuzet(&["hub", "escalations"]),
        "kuzet hub escalations",
    );
    assert!(
        escalations.contains("duty@knb.test") && escalations.contains("delivered"),
        "{escalations}"
    );
    hub.stop();
    isoc.stop();

    // Both sides' audit trails: the ISOC's deliveries, failed and done; the hub's receipts and refusals.
    let isoc_audit = ok(
        isoc_site.kuzet(&["audit", "--action", "exchange.", "--json"]),
        "isoc audit",
    );
    assert!(
        isoc_audit.contains("\"failure\"") && isoc_audit.contains("\"success\""),
        "{isoc_audit}"
    );
    assert!(isoc_audit.contains("forwarded to akimat"), "{isoc_audit}");
    let hub_audit = ok(hub_site.kuzet(&["audit", "--json"]), "hub audit");
    for expected in [
        "exchange.receive",
        "duplicate",
        "exchange.refuse",
        "signature",
        "unknown_isoc",
        "advisory.issue",
        "hub.escalate",
    ] {
        assert!(hub_audit.contains(expected), "{expected} in {hub_audit}");
    }
}

/// Runs `xmlsec1 --verify` on `document` with the key of `certificate`: true when it verifies.
fn xmlsec1_verifies(dir: &Path, certificate: &Path, document: &str) -> bool {
    let xmlsec1 =
        which("xmlsec1").expect("xmlsec1 not found: scripts/test installs it (Debian xmlsec1)");
    let fingerprint = kuzet_exchange::Certificate::from_pem_file(certificate)
        .unwrap()
        .fingerprint;
    let file = dir.join("signed.xml");
    std::fs::write(&file, document).unwrap();
    Command::new(xmlsec1)
        .arg("--verify")
        .arg(format!("--pubkey-cert-pem:{fingerprint}"))
        .arg(certificate)
        .args(["--enabled-reference-uris", "empty"])
        .arg(&file)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn an_isoc_reporting_in_xml_is_verified_by_the_hub_and_answered_in_xml() {
    let work = tempfile::tempdir().unwrap();
    let pki = work.path().join("pki");
    let dir = pki.to_str().unwrap();
    let p256 = ["--algorithm", "p256"];
    kuzet(
        &[
            &["pki", "ca", "--dir", dir, "--name", "Test NCCIS CA"][..],
            &p256,
        ]
        .concat(),
    );
    kuzet(
        &[
            &[
                "pki",
                "issue",
                "--dir",
                dir,
                "--name",
                "hub",
                "--server",
                "127.0.0.1",
            ][..],
            &p256,
        ]
        .concat(),
    );
    kuzet(
        &[
            &["pki", "issue", "--dir", dir, "--name", "isoc-alatau"][..],
            &p256,
        ]
        .concat(),
    );
    let path = |name: &str| pki.join(name).display().to_string();
    let port = free_port();
    let hub_site = Site::new(
        &format!(
            "[hub]\nlisten = \"127.0.0.1:{port}\"\ncertificate = {:?}\nkey = {:?}\nclient_ca = {:?}\n",
            path("hub.pem"),
            path("hub-key.pem"),
            path("ca.pem"),
        ),
        "",
    );
    register_alatau(&hub_site, &path("isoc-alatau.pem"));
    let hub = hub_site.start_with(&["--role", "nccis"]);
    let isoc_site = Site::new(
        &format!(
            "[exchange]\nhub_url = \"https://127.0.0.1:{port}\"\nparty = \"isoc-alatau\"\nca = {:?}\n\
             certificate = {:?}\nkey = {:?}\nhub_certificate = {:?}\ninterval = \"100ms\"\nformat = \"xml\"\n\n\
             [[tenants]]\nid = \"akimat\"\nname = \"Akimat of Astana\"\n",
            path("ca.pem"),
            path("isoc-alatau.pem"),
            path("isoc-alatau-key.pem"),
            path("hub.pem"),
        ),
        "",
    );
    let one_time = isoc_site.admin_one_time();
    let isoc = isoc_site.start();
    let admin = onboard(&isoc, "admin", &one_time, "tulip-steppe-river-2026");
    let analyst = add_user(
        &isoc,
        &admin,
        json!({"id": "aigerim", "roles": ["analyst"], "tenants": ["akimat"]}),
        "steppe-orbit-lake-2026",
    );
    let (status, opened, _) = api(
        &isoc,
        "POST",
        "/api/v1/tenants/akimat/incidents",
        Some(&analyst),
        Some(json!({
            "title": "Defacement of the portal <main> & news",
            "category": "malicious-code",
            "facts": {"functional_impact": "low", "information_impact": "none", "recoverability": "regular",
                      "scope": "one_facility", "facility_class": 3, "stage": "ongoing"},
        })),
    );
    assert_eq!(status, 201, "{opened}");
    let incident = opened["id"].as_str().unwrap().to_owned();
    let (status, body, _) = api(
        &isoc,
        "POST",
        &format!("/api/v1/tenants/akimat/incidents/{incident}/transitions"),
        Some(&analyst),
        Some(json!({"to": "confirmed"})),
    );
    assert_eq!(status, 200, "{body}");

    // The hub verified the XML signature, read the message through the XSD's mapping, and kept its bytes.
    wait_for("the NCCIS clock fulfilled by the hub's XML receipt", || {
        let (_, view, _) = api(
            &isoc,
            "GET",
            &format!("/api/v1/tenants/akimat/incidents/{incident}"),
            Some(&analyst),
            None,
        );
        view["obligations"]
            .as_array()?
            .iter()
            .find(|o| o["kind"] == "nccis_report" && o["clock"]["state"] == "done")
            .cloned()
    });
    let received = hub_messages(&hub_site);
    assert_eq!(received.len(), 1, "{received:?}");
    let first = &received[0];
    let body = first["body"].as_str().unwrap();
    assert!(
        body.starts_with("<message xmlns=\"urn:kuzet:nccis-exchange:1\">"),
        "{body}"
    );
    assert!(
        body.contains("<title>Defacement of the portal &lt;main&gt; &amp; news</title>"),
        "{body}"
    );
    assert_eq!(first["jws"], "", "an XML message is signed inside");
    assert_eq!(first["message"]["payload"]["incident"], incident.as_str());
    assert_eq!(first["message"]["payload"]["level"], json!(opened["level"]));
    // Independently of Kuzet: xmlsec1 verifies the ISOC's signature as the hub stored it, and xmllint finds the
    // message valid against the published XSD.
    let isoc_cert = pki.join("isoc-alatau.pem");
    assert!(xmlsec1_verifies(work.path(), &isoc_cert, body));
    assert!(!xmlsec1_verifies(
        work.path(),
        &isoc_cert,
        &body.replace("Defacement", "Defacemant")
    ));
    xsd_valid(work.path(), body).unwrap();
    // The receipt the ISOC kept is XML too, signed by the hub.
    let (_, sent, _) = api(
        &isoc,
        "GET",
        "/api/v1/tenants/akimat/exchange",
        Some(&analyst),
        None,
    );
    let receipt = &sent[0]["receipt"];
    assert_eq!(receipt["message"]["payload"]["status"], "accepted");
    let receipt_body = receipt["body"].as_str().unwrap();
    assert!(receipt_body.starts_with("<message"), "{receipt_body}");
    assert!(xmlsec1_verifies(
        work.path(),
        &pki.join("hub.pem"),
        receipt_body
    ));

    // The hub's messages to this ISOC come in XML as well: an access request reaches it.
    let hub_one_time = hub_site.admin_one_time();
    let hub_admin = onboard(&hub, "admin", &hub_one_time, "tulip-steppe-river-2026");
    let officer = add_user(
        &hub,
        &hub_admin,
        json!({"id": "dana", "roles": ["nccis-officer"]}),
        "orbit-steppe-lake-2026",
    );
    let (now, day) = (jiff::Timestamp::now(), jiff::SignedDuration::from_hours(24));
    let (status, asked, _) = api(
        &hub,
        "POST",
        "/api/v1/hub/access-requests",
        Some(&officer),
        Some(
            json!({"isoc": "isoc-alatau", "tenant": "akimat", "reason": "the defacement's source",
                    "from": (now - day).to_string(), "to": (now + day).to_string()}),
        ),
    );
    assert_eq!(status, 201, "{asked}");
    let request = wait_for("the access request at the ISOC", || {
        let (_, list, _) = api(&isoc, "GET", "/api/v1/access-requests", Some(&admin), None);
        list.as_array()?.first().cloned()
    });
    assert_eq!(
        (request["id"].clone(), request["reason"].as_str()),
        (asked["message"].clone(), Some("the defacement's source"))
    );
    // And the ISOC's answer, a grant, is XML at the hub, valid against the XSD.
    let decided = grant_access(&isoc, &admin, &request);
    let answer = wait_for("the grant at the hub", || {
        hub_messages(&hub_site)
            .into_iter()
            .find(|m| m["kind"] == "access.grant")
    });
    assert_eq!(answer["message"]["payload"]["grant"], decided["grant"]);
    let grant_body = answer["body"].as_str().unwrap();
    assert!(
        grant_body.contains("<granted type=\"boolean\">true</granted>"),
        "{grant_body}"
    );
    xsd_valid(work.path(), grant_body).unwrap();
    drop((hub, isoc));
}
