//! Arbitrary bytes as a received exchange message: the first line is the detached JWS, the rest the body.
//! Opening never panics; whatever opens was signed by the registered key and reads back as the same message.
#![no_main]

use std::sync::OnceLock;

use kuzet_exchange::pki::{KeyAlgorithm, Usage, issue, new_ca};
use kuzet_exchange::transport::open_incoming;
use kuzet_exchange::{CertificateKey, Envelope};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static CertificateKey {
    static KEY: OnceLock<CertificateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let ca = new_ca("CA", KeyAlgorithm::Ed25519, 10).unwrap();
        let issued = issue(&ca, "isoc", &Usage::Client, KeyAlgorithm::Ed25519, 10).unwrap();
        CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, "isoc").unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::from_bytes(data);
    let (jws, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(jws) = std::str::from_utf8(jws) else { return };
    if let Ok(message) = open_incoming(body, jws, key().certificate(), "isoc-alatau", "nccis") {
        let again = message.to_bytes().unwrap();
        assert_eq!(Envelope::from_bytes(&again).unwrap(), message);
    }
});
