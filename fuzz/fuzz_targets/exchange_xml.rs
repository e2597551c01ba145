//! Arbitrary bytes as an XML exchange message, alone and spliced into a signed one (the first byte says where):
//! reading and verifying never panic; whatever reads is in the canonical form (written again, it reads as
//! itself), and whatever verifies is the signed message unchanged.
#![no_main]

use std::sync::OnceLock;

use kuzet_exchange::pki::{KeyAlgorithm, Usage, issue, new_ca};
use kuzet_exchange::{CertificateKey, Envelope, Form, Kind, MessageId, form, xml};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static CertificateKey {
    static KEY: OnceLock<CertificateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let ca = new_ca("CA", KeyAlgorithm::EcdsaP256, 10).unwrap();
        let issued = issue(&ca, "isoc", &Usage::Client, KeyAlgorithm::EcdsaP256, 10).unwrap();
        CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, "isoc").unwrap()
    })
}

fn signed() -> &'static (Envelope, Vec<u8>) {
    static SIGNED: OnceLock<(Envelope, Vec<u8>)> = OnceLock::new();
    SIGNED.get_or_init(|| {
        let message = Envelope {
            version: kuzet_exchange::PROTOCOL_VERSION,
            id: MessageId::from_random([7; 16]),
            kind: Kind::AccessRequest,
            sender: "nccis".into(),
            recipient: "isoc-alatau".into(),
            tenant: Some("akimat".into()),
            facilities: Vec::new(),
            created: jiff::Timestamp::UNIX_EPOCH,
            in_reply_to: None,
            payload: serde_json::json!({"reason": "a & <b>", "from": "2026-12-01T00:00:00Z",
                                        "to": "2026-12-02T00:00:00Z", "query": "host.name:x"}),
        };
        let body = form::sign(&message, key(), Form::Xml).unwrap().body;
        (message, body)
    })
}

fn check(bytes: &[u8]) {
    if let Ok(value) = xml::read(bytes) {
        let again = xml::write(&value).unwrap();
        assert_eq!(xml::read(again.as_bytes()).unwrap(), value);
    }
    if xml::verify(bytes, key().certificate()).is_ok() {
        let (message, _) = signed();
        assert_eq!(&Envelope::from_bytes(bytes).unwrap(), message);
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some((at, rest)) = data.split_first() {
        let (_, body) = signed();
        let at = usize::from(*at) * body.len() / 256;
        let mut spliced = body[..at].to_vec();
        spliced.extend_from_slice(rest);
        spliced.extend_from_slice(&body[at.min(body.len())..]);
        check(&spliced);
    }
});
