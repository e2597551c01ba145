//! Threat intelligence leaves and arrives over TAXII 2.1, through the real binary: a feed marked TLP:GREEN and
//! TLP:RED and an unmarked CSV feed are loaded; a syslog line from a listed address becomes a sighting; a real
//! TAXII client (`taxii2-client` from PyPI, as MISP and OpenCTI connectors use) reads the organization's
//! collections with an analyst's API token and finds each level holding nothing narrower; and `kuzet intel pull`
//! reads a collection back into a STIX feed the running server reads again by itself; another ISOC polls the
//! collection on a schedule.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;

use common::{Site, add_user, api, onboard, wait_for};
use serde_json::{Value, json};

const TENANTS: &str = r#"
[[tenants]]
id = "akimat"
name = "Akimat of Astana"
[[tenants.sources]]
id = "akimat-linux"
format = "syslog"
peers = ["127.0.0.1/32"]
"#;

const GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

fn taxii2_client_installed() -> bool {
    let installed = Command::new("python3")
        .args(["-c", "import taxii2client"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "taxii2-client is missing: scripts/test installs it (pip install taxii2-client)"
        );
        eprintln!(
            "SKIPPED the taxii2-client part: taxii2-client is not installed (pip install taxii2-client)"
        );
    }
    installed
}

fn types(objects: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = objects
        .iter()
        .map(|o| o["type"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn collections_are_read_by_a_real_taxii_client_and_pulled_back_as_a_feed() {
    let feeds = tempfile::tempdir().unwrap();
    let csv = feeds.path().join("scanners.csv");
    std::fs::write(
        &csv,
        "type,value,description\nip,203.0.113.7,known SSH scanner\n",
    )
    .unwrap();
    let stix = feeds.path().join("cert.json");
    std::fs::write(
        &stix,
        json!({"type": "bundle", "id": "bundle--6b1c0f5e-8a8e-4c55-9a43-8d8f2c1b7e10", "objects": [
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--1f0e3c4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
             "created": "2026-11-30T00:00:00.000Z", "modified": "2026-11-30T00:00:00.000Z",
             "name": "phishing domain", "pattern": "[domain-name:value = 'evil.example.kz']", "pattern_type": "stix",
             "valid_from": "2026-11-30T00:00:00Z", "object_marking_refs": [GREEN]},
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--2a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
             "created": "2026-11-30T00:00:00.000Z", "modified": "2026-11-30T00:00:00.000Z",
             "name": "source under investigation", "pattern": "[ipv4-addr:value = '198.51.100.23']",
             "pattern_type": "stix", "valid_from": "2026-11-30T00:00:00Z", "object_marking_refs": [RED]},
        ]})
        .to_string(),
    )
    .unwrap();
    // Where `kuzet intel pull` will write: an empty bundle until then.
    let pulled = feeds.path().join("pulled.json");
    std::fs::write(
        &pulled,
        r#"{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": []}"#,
    )
    .unwrap();
    let site = Site::new(
        &format!("[detection]\nindicators = [{csv:?}, {stix:?}, {pulled:?}]\n{TENANTS}"),
        "",
    );
    let one_time = site.admin_one_time();
    let server = site.start();
    let admin = onboard(&server, "admin", &one_time, "tulip-steppe-river-2026");
    let analyst = add_user(
        &server,
        &admin,
        json!({"id": "aigerim", "roles": ["analyst"], "tenants": ["akimat"]}),
        "steppe-orbit-lake-2026",
    );
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).to_string();
    let (status, token, _) = api(
        &server,
        "POST",
        "/api/v1/tokens",
        Some(&analyst),
        Some(json!({"name": "opencti connector", "role": "analyst", "expires": expires})),
    );
    assert_eq!(status, 201, "{token}");
    let token = token["token"].as_str().unwrap().to_owned();

    // A line from the listed scanner: an indicator alert, which the collections share as a sighting.
    let mut stream = TcpStream::connect(server.addresses.tcp.unwrap()).unwrap();
    stream
        .write_all(b"<38>Dec  7 10:00:00 web1 sshd[99]: Failed password for root from 203.0.113.7 port 4000 ssh2\n")
        .unwrap();
    stream.flush().unwrap();
    server.wait_metric("kuzet_alerts_total{kind=\"indicator\",new=\"true\"}", 1.0);

    let discovery = format!("http://{}/taxii2/", server.http());
    if taxii2_client_installed() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/taxii_client.py");
        let out = Command::new("python3")
            .args([script, &discovery, &token])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "taxii2-client: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read: Value = serde_json::from_slice(&out.stdout).unwrap();
        let roots = read["roots"].as_array().unwrap();
        assert_eq!(roots.len(), 1, "{read}");
        assert_eq!(
            roots[0]["versions"],
            json!(["application/taxii+json;version=2.1"])
        );
        let collections = roots[0]["collections"].as_array().unwrap();
        let held = |alias: &str| -> Vec<Value> {
            collections.iter().find(|c| c["alias"] == alias).unwrap()["objects"]
                .as_array()
                .unwrap()
                .clone()
        };
        // The green collection: the green indicator and the producer, never the amber or red ones.
        let green = held("tlp-green");
        assert_eq!(
            types(&green),
            [
                "identity",
                "indicator",
                "marking-definition",
                "marking-definition"
            ]
        );
        assert!(
            green
                .iter()
                .any(|o| o["pattern"] == "[domain-name:value = 'evil.example.kz']")
        );
        // Amber adds the unmarked feed, the sighting and where it was seen; red adds the red indicator.
        let amber = held("tlp-amber");
        let sighting = amber.iter().find(|o| o["type"] == "sighting").unwrap();
        let scanner = amber
            .iter()
            .find(|o| o["pattern"] == "[ipv4-addr:value = '203.0.113.7']")
            .unwrap();
        assert_eq!(sighting["sighting_of_ref"], scanner["id"]);
        assert!(
            !amber
                .iter()
                .any(|o| o["pattern"] == "[ipv4-addr:value = '198.51.100.23']")
        );
        let red = held("tlp-red");
        assert!(
            red.iter()
                .any(|o| o["pattern"] == "[ipv4-addr:value = '198.51.100.23']")
        );
        // The library paged (two objects per request) through every object, and the manifest lists each.
        for collection in collections {
            let objects = collection["objects"].as_array().unwrap().len();
            assert_eq!(
                collection["manifest"].as_u64().unwrap() as usize,
                objects,
                "{collection}"
            );
            assert!(collection["pages"].as_u64().unwrap() as usize >= objects.div_ceil(2).max(1));
        }
    }

    // Kuzet's own client, against this server: the green collection back into a feed file.
    let (listed, status) = common::curl(&[
        "-s",
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{discovery}akimat/collections/"),
    ]);
    assert_eq!(status, 200, "{listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let green_id = listed["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["alias"] == "tlp-green")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let collection = format!("{discovery}akimat/collections/{green_id}/");
    // `kuzet intel pull` of the green collection into the feed, with more arguments, under a token.
    let pull = |more: &[&str], token: &str| {
        let mut args = vec![
            "intel",
            "pull",
            "--collection",
            &collection,
            "--out",
            pulled.to_str().unwrap(),
        ];
        args.extend_from_slice(more);
        site.kuzet_with_env(&args, &[("KUZET_TAXII_TOKEN", token)])
    };
    let out = pull(&[], &token);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("(1 indicators)"), "{said}");
    assert!(
        said.contains("detection will load 1 indicator values; 0 not loadable"),
        "{said}"
    );
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&pulled).unwrap()).unwrap();
    assert_eq!(bundle["type"], "bundle");
    let objects = bundle["objects"].as_array().unwrap();
    assert!(
        objects
            .iter()
            .any(|o| o["pattern"] == "[domain-name:value = 'evil.example.kz']")
    );
    // Pulling again from where the last pull ended brings nothing new.
    let last = said
        .lines()
        .find(|l| l.starts_with("last added "))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_owned();
    let out = pull(&["--since", &last], &token);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = String::from_utf8_lossy(&out.stdout);
    assert!(again.contains("pulled 0 objects"), "{again}");
    assert!(
        again.contains("detection will load 1 indicator values"),
        "{again}"
    );
    // Without the token the server refuses, and the command says so and leaves the feed as it was.
    let out = pull(&[], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&pulled)
            .unwrap()
            .contains("evil.example.kz")
    );
    // The running server read the changed feed by itself: the pulled indicator is matched and listed.
    let name = pulled.display().to_string();
    wait_for("the pulled feed read again by the server", || {
        let (status, listed, _) = api(&server, "GET", "/api/v1/indicators", Some(&analyst), None);
        assert_eq!(status, 200, "{listed}");
        listed["feeds"]
            .as_array()?
            .iter()
            .find(|f| f["feed"] == name.as_str() && f["indicators"] == 1)
            .cloned()
    });

    // Another ISOC polls the same collection on its own ([[detection.taxii]], a token in a file): its detection
    // matches what it pulled without a restart, and each pull is in its audit trail.
    let token_file = feeds.path().join("peer.token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let peer_feed = feeds.path().join("peer").join("from-akimat.json");
    let peer = Site::new(
        &format!(
            "[detection]\n\n[[detection.taxii]]\ncollection = {collection:?}\nout = {peer_feed:?}\n\
             token_file = {token_file:?}\ninterval = \"200ms\"\n{TENANTS}"
        ),
        "",
    );
    let peer_server = peer.start();
    wait_for("the peer's detection matching the pulled indicator", || {
        let (body, _) = common::curl(&["-s", &format!("http://{}/health", peer_server.http())]);
        let health: Value = serde_json::from_str(&body).ok()?;
        (health["detection"]["indicators"] == 1).then_some(())
    });
    peer_server.stop();
    let audit = peer.kuzet(&["audit", "--action", "intel.pull", "--json"]);
    let pulls: Vec<Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        pulls.iter().any(|r| {
            let text = r.to_string();
            text.contains("success") && text.contains("(1 indicators)")
        }),
        "{pulls:#?}"
    );
    server.stop();
}
