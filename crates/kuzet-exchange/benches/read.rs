//! Reading a stored message, in events/s (criterion's `thrpt`): the JSON and XML forms of one incident report,
//! read as a receiver does (`Envelope::from_bytes`: the schema checked, and for XML the canonical form) beside
//! reading them only to show (`message::as_json`) and reading them back from the store (`Envelope::from_stored`,
//! what the hub's views do over every stored report), in the same run.
//!
//! Run: `cargo bench -p kuzet-exchange`.

// A benchmark binary: a message that cannot be built should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_exchange::{CertificateKey, Envelope, Form, Kind, MessageId, form, message};

fn bench(c: &mut Criterion) {
    use kuzet_exchange::pki::{KeyAlgorithm, Usage, issue, new_ca};
    let ca = new_ca("CA", KeyAlgorithm::EcdsaP256, 10).unwrap();
    let issued = issue(&ca, "isoc", &Usage::Client, KeyAlgorithm::EcdsaP256, 10).unwrap();
    let key = CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, "isoc").unwrap();
    let message = Envelope {
        version: kuzet_exchange::PROTOCOL_VERSION,
        id: MessageId::from_random([7; 16]),
        kind: Kind::IncidentUpdate,
        sender: "isoc-alatau".into(),
        recipient: "nccis".into(),
        tenant: Some("kaztransit".into()),
        facilities: vec!["scada-1".into()],
        created: "2026-12-07T03:00:00Z".parse().unwrap(),
        in_reply_to: None,
        payload: serde_json::json!({
            "incident": "0123456789abcdef0123456789abcdef", "organization": "KazTransit",
            "sector": "transport", "title": "Brute force against the SCADA gateway",
            "category": "intrusion.unauthorized-access", "level": 3, "status": "contained",
            "detected": "2026-12-07T02:50:00Z", "confirmed": "2026-12-07T02:59:00Z",
            "facility_names": ["SCADA gateway"], "personal_data": false, "changed": "2026-12-07T03:10:00Z"
        }),
    };
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(1));
    for (name, form) in [("json", Form::Json), ("xml", Form::Xml)] {
        let body = form::sign(&message, &key, form).unwrap().body;
        group.bench_function(format!("{name}_checked"), |b| {
            b.iter(|| Envelope::from_bytes(black_box(&body)).unwrap())
        });
        group.bench_function(format!("{name}_shown"), |b| {
            b.iter(|| message::as_json(black_box(&body)).unwrap())
        });
        group.bench_function(format!("{name}_stored"), |b| {
            b.iter(|| Envelope::from_stored(black_box(&body)).unwrap())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
