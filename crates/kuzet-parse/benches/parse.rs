//! Parse throughput per format, in bytes/s (criterion's `thrpt`) for one typical line; events/s is bytes/s divided
//! by the line length printed at start. Run: `cargo bench -p kuzet-parse --bench parse`.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_parse::{ParseOptions, parse};

const CASES: [(&str, FormatHint, &str); 7] = [
    (
        "rfc3164",
        FormatHint::Syslog,
        "<38>Nov 22 07:59:58 srv-db01 CRON[4123]: (root) CMD (run-parts /etc/cron.hourly)",
    ),
    (
        "rfc5424",
        FormatHint::Syslog,
        "<165>1 2026-11-22T07:59:30.123456+05:00 web-01.akimat.kz evntslog 8710 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry",
    ),
    (
        "sshd",
        FormatHint::Syslog,
        "<38>Nov 22 07:59:58 bastion sshd[2212]: Failed password for invalid user admin from 185.220.101.4 port 41822 ssh2",
    ),
    (
        "cef",
        FormatHint::Cef,
        "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 dpt=80 suser=jdoe duser=admin act=blocked proto=TCP msg=worm stopped at the perimeter rt=1795316398000",
    ),
    (
        "leef",
        FormatHint::Leef,
        "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=8^srcPort=81^dstPort=21^usrName=joe.black^devTime=2026-11-22T07:59:58.000+0500^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
    ),
    (
        "json_ecs",
        FormatHint::Json,
        r#"{"@timestamp":"2026-11-22T02:59:58.123Z","message":"GET /index.html 200","host":{"name":"web-01","ip":["10.0.0.8"]},"agent":{"type":"filebeat","version":"8.15.0"},"ecs":{"version":"8.11.0"},"log":{"file":{"path":"/var/log/nginx/access.log"}},"event":{"dataset":"nginx.access"},"source":{"ip":"203.0.113.5"}}"#,
    ),
    (
        "auto_rfc3164",
        FormatHint::Auto,
        "<38>Nov 22 07:59:58 srv-db01 CRON[4123]: (root) CMD (run-parts /etc/cron.hourly)",
    ),
];

fn raw(format: FormatHint, line: &str) -> RawEvent {
    RawEvent {
        id: EventId::from_parts(1_795_316_400_000, 1),
        tenant: TenantId::new("bench").unwrap(),
        source: SourceId::new("bench").unwrap(),
        received: "2026-11-22T03:00:00Z".parse().unwrap(),
        transport: Transport::Udp,
        peer: None,
        format,
        bytes: line.as_bytes().to_vec(),
    }
}

fn bench(c: &mut Criterion) {
    let options = ParseOptions::default();
    let mut group = c.benchmark_group("parse");
    for (name, format, line) in CASES {
        let raw = raw(format, line);
        eprintln!("{name}: {} bytes per event", line.len());
        group.throughput(Throughput::Bytes(line.len() as u64));
        group.bench_function(name, |b| b.iter(|| parse(black_box(&raw), &options)));
    }
    // Hostile input: 60 KB of one repeated custom key (10,000 × `cs1=x`) with its label. Read per byte beside
    // the typical `cef` line above: a parser that is linear keeps the two within a small factor (it was ~60 ms an
    // event, quadratic, before labels were looked up in a map).
    let hostile = format!(
        "CEF:0|Vendor|Product|1.0|100|name|5|cs1Label=Label {}",
        "cs1=x ".repeat(10_000)
    );
    let hostile_raw = raw(FormatHint::Cef, &hostile);
    group.throughput(Throughput::Bytes(hostile.len() as u64));
    group.bench_function("cef_hostile_repeated_keys", |b| {
        b.iter(|| parse(black_box(&hostile_raw), &options))
    });
    // The floor set by the event model: an event with the 15 fields an RFC 3164 line yields, built with no
    // parsing at all. Parse times are best read as a ratio to this (the machine is shared and noisy).
    let floor_raw = raw(FormatHint::Syslog, CASES[0].2);
    group.throughput(Throughput::Bytes(CASES[0].2.len() as u64));
    group.bench_function("floor_15_fields", |b| {
        b.iter(|| {
            let raw = black_box(&floor_raw);
            let mut event = kuzet_model::Event::new(
                raw.id,
                raw.tenant.clone(),
                raw.source.clone(),
                raw.received,
                raw.bytes.clone(),
            );
            for name in FLOOR_FIELDS {
                event.fields.insert(name, "srv-db01");
            }
            event
        })
    });
    group.finish();
}

const FLOOR_FIELDS: [&str; 15] = [
    "log.syslog.priority",
    "log.syslog.facility.code",
    "log.syslog.facility.name",
    "log.syslog.severity.code",
    "log.syslog.severity.name",
    "log.syslog.hostname",
    "host.hostname",
    "host.name",
    "log.syslog.appname",
    "process.name",
    "log.syslog.procid",
    "process.pid",
    "message",
    "event.module",
    "event.kind",
];

criterion_group!(benches, bench);
criterion_main!(benches);
