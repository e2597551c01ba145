//! Search through the real binary: syslog lines of two organizations sent over TCP are sealed and indexed by
//! `kuzet serve`; `kuzet search` answers through the hot index what reading the whole archive answers, never one
//! organization's events for the other; a deleted index is rebuilt from the archive at the next start.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::Site;

const TENANTS: &str = r#"
[[tenants]]
id = "akimat"
name = "Akimat"
[[tenants.sources]]
id = "akimat-linux"
format = "syslog"
peers = ["127.0.0.1/32"]

[[tenants]]
id = "bank"
name = "Bank"
[[tenants.sources]]
id = "bank-linux"
format = "syslog"
peers = ["127.0.0.2/32"]
"#;

fn send(server: &common::Server, from: &str, lines: &[String]) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &format!("{from}:0")
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket
        .connect(&server.addresses.tcp.unwrap().into())
        .unwrap();
    let mut stream: TcpStream = socket.into();
    for line in lines {
        stream.write_all(line.as_bytes()).unwrap();
        stream.write_all(b"\n").unwrap();
    }
    stream.flush().unwrap();
}

/// sshd lines of now: failures for users u0…, from addresses in 203.0.113.0/24 and 198.51.100.0/24.
fn lines(host: &str, count: usize) -> Vec<String> {
    let now = jiff::Timestamp::now();
    (0..count)
        .map(|i| {
            let at = now - jiff::SignedDuration::from_secs(i as i64);
            let outcome = if i % 3 == 0 { "Accepted" } else { "Failed" };
            let net = if i % 2 == 0 {
                "203.0.113"
            } else {
                "198.51.100"
            };
            format!(
                "<38>1 {} {host} sshd {} - - {outcome} password for u{} from {net}.{} port {} ssh2",
                at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
                1000 + i,
                i % 7,
                i % 250,
                40000 + i
            )
        })
        .collect()
}

fn search(site: &Site, query: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "search", query, "--since", "2h", "--format", "json", "--size", "500",
    ];
    args.extend_from_slice(extra);
    let output = site.kuzet(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_index_answers_what_the_archive_answers_and_is_rebuilt_when_deleted() {
    let site = Site::new(TENANTS, "");
    let server = site.start();
    send(&server, "127.0.0.1", &lines("dc-01", 120));
    send(&server, "127.0.0.2", &lines("core-01", 80));
    server.wait_metric("kuzet_index_events_total", 200.0);
    let queries = [
        "*",
        "\"failed password\"",
        "user.name:u3 OR related.user:u3",
        "source.ip:203.0.113.0/24",
        "accepted AND NOT source.ip:198.51.100.0/24",
        "host.name:dc-01",
        "organization.id:bank",
    ];
    for query in queries {
        for tenant in [&[][..], &["--tenant", "bank"][..]] {
            let indexed = search(&site, query, tenant);
            assert_eq!(indexed["index"], true, "{query}: {indexed}");
            let scanned = search(&site, query, &[tenant, &["--scan"]].concat());
            assert_eq!(scanned["index"], false);
            assert_eq!(ids(&indexed), ids(&scanned), "{query} {tenant:?}");
            assert_eq!(indexed["total"], scanned["total"], "{query} {tenant:?}");
            if !tenant.is_empty() {
                assert!(
                    indexed["events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|e| e["organization"]["id"] == "bank")
                );
            }
        }
    }
    assert_eq!(search(&site, "*", &[])["total"], 200);
    assert_eq!(
        search(&site, "host.name:dc-01", &["--tenant", "bank"])["total"],
        0
    );
    let failed = search(&site, "\"failed password\"", &[]);
    assert_eq!(failed["total"], 80 + 53);
    server.stop();

    // A deleted index is built again from the archive.
    std::fs::remove_dir_all(site.data_dir().join("index")).unwrap();
    let server = site.start();
    server.wait_metric("kuzet_index_events_total", 200.0);
    let rebuilt = search(&site, "\"failed password\"", &[]);
    assert_eq!(rebuilt["index"], true);
    assert_eq!(ids(&rebuilt), ids(&failed));
    server.stop();
}

/// sshd lines of January 2024 (long past any hot window).
fn old_lines(host: &str, count: usize) -> Vec<String> {
    let start: jiff::Timestamp = "2024-01-10T00:00:00Z".parse().unwrap();
    (0..count)
        .map(|i| {
            let at = start + jiff::SignedDuration::from_mins(i as i64 * 37);
            let outcome = if i % 4 == 0 { "Accepted" } else { "Failed" };
            format!(
                "<38>1 {} {host} sshd {} - - {outcome} password for u{} from 192.0.2.{} port {} ssh2",
                at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                2000 + i,
                i % 5,
                i % 200,
                50000 + i
            )
        })
        .collect()
}

#[test]
fn a_rehydrated_period_answers_exactly_what_the_archive_holds() {
    let site = Site::new(TENANTS, "");
    for (tenant, source, host) in [
        ("akimat", "akimat-linux", "dc-01"),
        ("bank", "bank-linux", "core-01"),
    ] {
        let file = site.path(&format!("{tenant}.log"));
        std::fs::write(&file, old_lines(host, 300).join("\n") + "\n").unwrap();
        let out = site.kuzet(&[
            "ingest",
            "--tenant",
            tenant,
            "--source",
            source,
            file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let period = [
        "--from",
        "2024-01-12T00:00:00Z",
        "--to",
        "2024-01-14T00:00:00Z",
    ];
    let out = site.kuzet(
        &[
            &["rehydrate", "--tenant", "akimat", "--name", "jan"][..],
            &period,
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rehydrated `jan`"));
    // The same name again is refused, naming what to do.
    let again = site.kuzet(
        &[
            &["rehydrate", "--tenant", "akimat", "--name", "jan"][..],
            &period,
        ]
        .concat(),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--drop --name jan"));
    let search = |query: &str, extra: &[&str]| -> serde_json::Value {
        let args = [
            &["search", query, "--format", "json", "--size", "1000"][..],
            &period,
            extra,
        ]
        .concat();
        let output = site.kuzet(&args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    for query in [
        "*",
        "failed",
        "user.name:u2",
        "source.ip:192.0.2.0/25 AND NOT accepted",
    ] {
        let rehydrated = search(query, &["--rehydrated", "jan", "--tenant", "akimat"]);
        let scanned = search(query, &["--scan", "--tenant", "akimat"]);
        assert_eq!(rehydrated["index"], true);
        assert!(rehydrated["total"].as_u64().unwrap() > 0, "{query}");
        // The events themselves, field for field, not only their ids.
        assert_eq!(rehydrated["events"], scanned["events"], "{query}");
        assert_eq!(rehydrated["total"], scanned["total"], "{query}");
    }
    // Two days of one event every 37 minutes: 78 events of akimat, none of bank even when asked for every tenant.
    let all = search("*", &["--rehydrated", "jan"]);
    assert_eq!(all["total"], 78);
    assert!(
        all["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["organization"]["id"] == "akimat")
    );
    let dropped = site.kuzet(&["rehydrate", "--drop", "--name", "jan"]);
    assert!(
        dropped.status.success(),
        "{}",
        String::from_utf8_lossy(&dropped.stderr)
    );
    let gone = site.kuzet(&[&["search", "*", "--rehydrated", "jan"][..], &period].concat());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no such index"));
}
