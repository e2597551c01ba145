//! The XML form checked by the tools other parties use: every kind of message, signed as Kuzet signs it, is
//! valid against the published XSD (`xmllint --schema`, libxml2) and its signature verifies with `xmlsec1`
//! (the XML Security Library); what the JSON Schema refuses, the XSD refuses too. `scripts/test` installs both
//! (Debian's libxml2-utils and xmlsec1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kuzet_exchange::pki::{KeyAlgorithm, Usage, issue, new_ca};
use kuzet_exchange::{CertificateKey, Envelope, Form, Kind, MessageId, form, xml};
use serde_json::{Value, json};

const XSD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/formats/nccis-exchange-v1.xsd"
);

fn tool(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("{name} not found: scripts/test installs it (Debian package {package})")
    })
}

fn message(kind: Kind, payload: Value) -> Envelope {
    Envelope {
        version: kuzet_exchange::PROTOCOL_VERSION,
        id: MessageId::from_random([9; 16]),
        kind,
        sender: "isoc-alatau".into(),
        recipient: "nccis".into(),
        tenant: Some("kaztransit".into()),
        facilities: vec!["scada-1".into()],
        created: "2026-12-07T03:00:00Z".parse().unwrap(),
        in_reply_to: (kind == Kind::Receipt).then(|| MessageId::from_random([8; 16])),
        payload,
    }
}

/// One message of every kind, with every optional field Kuzet fills.
fn every_kind() -> Vec<Envelope> {
    let incident = json!({
        "incident": "0123456789abcdef0123456789abcdef", "organization": "ҚазТранзит «Alatau» & Co <ops>",
        "sector": "transport", "title": "Brute force\r\nagainst the SCADA gateway", "category": "intrusion.unauthorized-access",
        "level": 3, "status": "confirmed", "detected": "2026-12-07T02:50:00Z", "confirmed": "2026-12-07T02:59:00.123Z",
        "facility_names": ["SCADA gateway", ""], "personal_data": true, "changed": "2026-12-07T02:59:00Z",
        "reason": "confirmed by the shift lead"
    });
    let mut closure = incident.clone();
    closure["status"] = "closed".into();
    vec![
        message(Kind::IncidentInitial, incident.clone()),
        message(Kind::IncidentUpdate, incident),
        message(Kind::IncidentClosure, closure),
        message(
            Kind::Sighting,
            json!({"bundle": {"type": "bundle", "id": "bundle--6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "objects": [{"type": "sighting", "id": "sighting--6ba7b810-9dad-11d1-80b4-00c04fd430c8", "spec_version": "2.1",
                "count": 2, "sighting_of_ref": "indicator--6ba7b811-9dad-11d1-80b4-00c04fd430c8",
                "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"], "x_kuzet_empty": {}}]}}),
        ),
        message(
            Kind::Receipt,
            json!({"status": "accepted", "received": "2026-12-07T03:00:01Z",
            "digest": format!("sha256:{}", "ab".repeat(32))}),
        ),
        message(
            Kind::Advisory,
            json!({"type": "vulnerability", "title": "OpenSSH regreSSHion", "severity": "critical",
            "description": "Remote code execution", "cve": ["CVE-2024-6387"],
            "affected": [{"product": "cpe:2.3:a:openbsd:openssh", "versions": ">=8.5, <9.8", "part": "sshd"}, {"product": "pkg:deb/debian/openssh-server"}],
            "addresses": ["10.0.0.0/8"], "remedies": ["update to 9.8"], "references": ["CVE-2024-6387"]}),
        ),
        message(
            Kind::QuarterlyReport,
            json!({"year": 2026, "quarter": 4, "incidents": [{
            "incident": "0123456789abcdef0123456789abcdef", "title": "t", "category": "malware", "level": 2,
            "status": "closed", "detected": "2026-10-01T00:00:00Z", "confirmed": "2026-10-01T00:10:00Z",
            "personal_data": false, "measures": ["изолирован хост"]}]}),
        ),
        message(
            Kind::ContactConfirmation,
            json!({"contacts": [{"role": "security", "name": "Айгерим",
            "channel": "email", "address": "soc@example.kz", "language": "kk"}]}),
        ),
        message(Kind::ContactChange, json!({"contacts": []})),
        message(
            Kind::BreachNotice,
            json!({"incident": "0123456789abcdef0123456789abcdef", "language": "ru", "text": "Уведомление"}),
        ),
        message(
            Kind::AccessRequest,
            json!({"reason": "incident review", "from": "2026-12-01T00:00:00Z",
            "to": "2026-12-07T00:00:00Z", "query": "host.name:scada-1"}),
        ),
        message(
            Kind::AccessGrant,
            json!({"reason": "granted", "from": "2026-12-01T00:00:00Z", "to": "2026-12-07T00:00:00Z",
            "request": "0123456789abcdef0123456789abcdef", "granted": true, "grant": "fedcba9876543210fedcba9876543210"}),
        ),
    ]
}

fn signer(dir: &Path) -> (CertificateKey, PathBuf) {
    let ca = new_ca("NCCIS test CA", KeyAlgorithm::EcdsaP256, 10).unwrap();
    let issued = issue(
        &ca,
        "isoc-alatau",
        &Usage::Client,
        KeyAlgorithm::EcdsaP256,
        10,
    )
    .unwrap();
    let cert = dir.join("isoc.pem");
    std::fs::write(&cert, &issued.certificate_pem).unwrap();
    let key = CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, "isoc").unwrap();
    (key, cert)
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn xmllint(file: &Path) -> (bool, String) {
    run(Command::new(tool("xmllint", "libxml2-utils"))
        .args(["--noout", "--nonet", "--schema", XSD])
        .arg(file))
}

#[test]
fn every_kind_of_signed_xml_message_is_valid_against_the_xsd() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = signer(dir.path());
    for message in every_kind() {
        let signed = form::sign(&message, &key, Form::Xml).unwrap();
        assert_eq!(Envelope::from_bytes(&signed.body).unwrap(), message);
        let file = dir.path().join(format!("{}.xml", message.kind.as_str()));
        std::fs::write(&file, &signed.body).unwrap();
        let (valid, output) = xmllint(&file);
        assert!(valid, "{}: {output}", message.kind.as_str());
    }
}

#[test]
fn what_the_json_schema_refuses_the_xsd_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let base = serde_json::to_value(&every_kind()[0]).unwrap();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("level 9", Box::new(|v| v["payload"]["level"] = json!(9))),
        (
            "an unknown field",
            Box::new(|v| v["payload"]["colour"] = json!("red")),
        ),
        (
            "no title",
            Box::new(|v| drop(v["payload"].as_object_mut().unwrap().remove("title"))),
        ),
        (
            "a bad tenant",
            Box::new(|v| v["tenant"] = json!("Not A Slug")),
        ),
        (
            "a bad time",
            Box::new(|v| v["created"] = json!("yesterday")),
        ),
        (
            "a string for a boolean",
            Box::new(|v| v["payload"]["personal_data"] = json!("yes")),
        ),
        ("version 2", Box::new(|v| v["version"] = json!(2))),
    ];
    for (what, mutate) in mutations {
        let mut value = base.clone();
        mutate(&mut value);
        assert!(
            kuzet_exchange::schema::check(&value, what).is_err(),
            "the JSON Schema accepts {what}"
        );
        let file = dir.path().join("invalid.xml");
        std::fs::write(&file, xml::write(&value).unwrap()).unwrap();
        let (valid, output) = xmllint(&file);
        assert!(!valid, "the XSD accepts {what}: {output}");
        assert!(
            Envelope::from_bytes(&std::fs::read(&file).unwrap()).is_err(),
            "{what}"
        );
    }
}

#[test]
fn xmlsec1_verifies_what_kuzet_signs_and_refuses_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = signer(dir.path());
    let xmlsec1 = tool("xmlsec1", "xmlsec1");
    let fingerprint = key.certificate().fingerprint.clone();
    for message in every_kind() {
        let signed =
            String::from_utf8(form::sign(&message, &key, Form::Xml).unwrap().body).unwrap();
        for (document, expect) in [
            (signed.clone(), true),
            (
                signed.replacen("<tenant>kaztransit<", "<tenant>kaztransiT<", 1),
                false,
            ),
        ] {
            let file = dir.path().join("signed.xml");
            std::fs::write(&file, &document).unwrap();
            let (verified, output) = run(Command::new(&xmlsec1)
                .arg("--verify")
                .arg(format!("--pubkey-cert-pem:{fingerprint}"))
                .arg(&cert)
                .args(["--enabled-reference-uris", "empty"])
                .arg(&file));
            assert_eq!(verified, expect, "{}: {output}", message.kind.as_str());
        }
    }
}
