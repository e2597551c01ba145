//! A login flood beside ingestion, against the real binary over loopback: anonymous clients loop failed logins
//! while a shipper posts events. Ingestion must keep flowing (every batch acknowledged); the latencies of the
//! same ingest loop without and with the flood are printed, not asserted (speed goals live in benchmarks).

// Helpers of a test binary panic on failure like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;

const TENANTS: &str = r#"
[[tenants]]
id = "akimat"
name = "Akimat"
[[tenants.sources]]
id = "akimat-beats"
format = "json"
token_sha256 = ["TOKEN_HASH"]
"#;

/// One HTTP/1.1 request on a new connection from `from` (a loopback address); the status code.
fn request_from(from: [u8; 4], address: SocketAddr, head: &str, body: &str) -> u16 {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    socket.connect(&address.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{head}\r\nHost: kuzet\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Posts one one-event batch; its latency. Every batch must be acknowledged.
fn ingest_one(address: SocketAddr, n: usize, tag: &str) -> Option<Duration> {
    let started = Instant::now();
    let status = request_from(
        [127, 0, 0, 1],
        address,
        "POST /ingest/v1/events HTTP/1.1\r\nAuthorization: Bearer akimat-secret",
        &format!(r#"{{"message":"{tag} {n}"}}"#),
    );
    assert_eq!(status, 200, "{tag} batch {n}");
    Some(started.elapsed())
}

fn ingest(address: SocketAddr, count: usize, tag: &str) -> Vec<Duration> {
    (0..count)
        .filter_map(|n| ingest_one(address, n, tag))
        .collect()
}

fn summary(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    format!(
        "median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    )
}

#[test]
fn a_login_flood_does_not_stop_ingestion() {
    let site = Site::new(
        &TENANTS.replace("TOKEN_HASH", &sha256_hex("akimat-secret")),
        "",
    );
    let server = site.start();
    let address = server.http();
    let quiet = ingest(address, 100, "quiet");
    // 8 clients on 8 loopback addresses × 60 failed logins, each with names of its own: the throttle answers 429
    // once an address has failed 30 times, so 240 reach Argon2, on the blocking pool two at a time.
    let flood: Vec<_> = (0..8)
        .map(|client| {
            std::thread::spawn(move || {
                let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
                for n in 0..60 {
                    let body = format!(
                        r#"{{"user":"flood-{client}-{n}","password":"wrong-password-123"}}"#
                    );
                    let from = [127, 0, 0, 10 + client];
                    let status =
                        request_from(from, address, "POST /api/v1/auth/login HTTP/1.1", &body);
                    *statuses.entry(status).or_default() += 1;
                }
                statuses
            })
        })
        .collect();
    // Ingest for as long as the flood lasts (at least 100 batches, at most 5,000).
    let mut flooded = Vec::new();
    while flooded.len() < 100 || (flooded.len() < 5_000 && !flood.iter().all(|c| c.is_finished())) {
        flooded.extend(ingest_one(address, flooded.len(), "flooded"));
    }
    let sent = 100 + flooded.len();
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for client in flood {
        for (status, count) in client.join().unwrap() {
            *answers.entry(status).or_default() += count;
        }
    }
    let mut quiet = quiet;
    println!(
        "ingest without the flood: {}; during 480 anonymous logins from 8 addresses ({answers:?}), {} batches: {}",
        summary(&mut quiet),
        flooded.len(),
        summary(&mut flooded)
    );
    assert_eq!(answers.values().sum::<usize>(), 480);
    assert!(
        answers.keys().all(|s| matches!(s, 401 | 429)),
        "{answers:?}"
    );
    assert!(
        answers.contains_key(&429),
        "the throttle answered: {answers:?}"
    );
    server.stop();
    assert_eq!(site.export("akimat").len(), sent, "every batch sealed");
}
