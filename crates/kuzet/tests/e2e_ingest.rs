//! End to end with real clients: util-linux `logger` over UDP and TCP, `curl` with NDJSON, gzip and `_bulk`.
//! Each event must land in the archive under the right tenant with its timestamps and ECS fields; unknown senders
//! are refused; bad input is refused or counted while the server keeps serving.

// Helpers of a test binary panic on failure like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::Command;

use common::*;

fn tenants() -> String {
    format!(
        r#"
[[tenants]]
id = "akimat"
name = "Akimat"
[[tenants.sources]]
id = "akimat-linux"
format = "syslog"
peers = ["127.0.0.1/32"]
[[tenants.sources]]
id = "akimat-beats"
format = "json"
token_sha256 = ["{}"]

[[tenants]]
id = "energo"
name = "Energo"
[[tenants.sources]]
id = "energo-beats"
format = "json"
token_sha256 = ["{}"]
"#,
        sha256_hex("akimat-secret"),
        sha256_hex("energo-secret")
    )
}

fn logger(args: &[&str]) {
    let status = Command::new("logger")
        .args(args)
        .status()
        .expect("logger runs");
    assert!(status.success(), "logger {args:?}");
}

#[test]
fn logger_over_udp_and_tcp_lands_in_the_senders_tenant_with_ecs_fields() {
    let site = Site::new(&tenants(), "");
    let server = site.start();
    let udp = server.addresses.udp.unwrap();
    let tcp = server.addresses.tcp.unwrap();
    logger(&[
        "-n",
        "127.0.0.1",
        "-P",
        &udp.port().to_string(),
        "-d",
        "--rfc5424",
        "-t",
        "sshd",
        "Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2",
    ]);
    logger(&[
        "-n",
        "127.0.0.1",
        "-P",
        &tcp.port().to_string(),
        "-T",
        "--rfc5424",
        "--octet-count",
        "-t",
        "billing",
        "octet counted over tcp",
    ]);
    logger(&[
        "-n",
        "127.0.0.1",
        "-P",
        &tcp.port().to_string(),
        "-T",
        "--rfc3164",
        "-t",
        "sudo",
        "aidos : TTY=pts/0 ; PWD=/home/aidos ; USER=root ; COMMAND=/usr/bin/id",
    ]);
    server.wait_metric(r#"kuzet_ingest_acknowledged_total{transport="udp"}"#, 1.0);
    server.wait_metric(r#"kuzet_ingest_acknowledged_total{transport="tcp"}"#, 2.0);
    server.stop();

    let events = site.export("akimat");
    assert_eq!(events.len(), 3, "{events:#?}");
    let sshd = with_message(&events, "Failed password")[0];
    assert_eq!(sshd["organization"]["id"], "akimat");
    assert_eq!(sshd["kuzet"]["source"], "akimat-linux");
    assert_eq!(sshd["event"]["outcome"], "failure");
    assert_eq!(sshd["source"]["ip"], "203.0.113.9");
    assert_eq!(sshd["user"]["name"], "admin");
    assert_eq!(sshd["log"]["syslog"]["appname"], "sshd");
    assert!(sshd["event"]["ingested"].is_string() && sshd["@timestamp"].is_string());
    let original = sshd["event"]["original"].as_str().unwrap();
    assert!(
        original.starts_with('<') && original.ends_with("port 4242 ssh2"),
        "{original}"
    );

    let tcp_event = with_message(&events, "octet counted over tcp")[0];
    assert_eq!(tcp_event["log"]["syslog"]["appname"], "billing");
    let sudo = with_message(&events, "COMMAND=/usr/bin/id")[0];
    assert_eq!(sudo["process"]["name"], "sudo");
    assert_eq!(sudo["user"]["name"], "aidos");

    assert!(
        site.export("energo").is_empty(),
        "no event may leak into another tenant"
    );
    let (intact, report) = site.verify();
    assert!(intact, "{report}");
}

#[test]
fn curl_ndjson_gzip_and_bulk_are_acknowledged_and_attributed_by_token() {
    let site = Site::new(&tenants(), "");
    let server = site.start();
    let base = format!("http://{}", server.http());

    let ndjson = "{\"message\":\"first\",\"host\":{\"name\":\"web-1\"},\"@timestamp\":\"2026-11-22T05:00:00Z\"}\n\
                  {\"message\":\"second\",\"user\":{\"name\":\"dana\"}}\n";
    let (body, status) = curl(&[
        "-H",
        "Authorization: Bearer akimat-secret",
        "-H",
        "Content-Type: application/x-ndjson",
        "--data-binary",
        ndjson,
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["accepted"],
        2
    );

    let gz = site.path("batch.json.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"[{\"message\":\"gzipped\"}]").unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let (body, status) = curl(&[
        "-H",
        "Authorization: Bearer akimat-secret",
        "-H",
        "Content-Encoding: gzip",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &format!("@{}", gz.display()),
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 200, "{body}");

    // Filebeat's stock elasticsearch output: basic auth, an index in the path, create actions.
    let bulk = "{\"create\":{\"_index\":\"winlogbeat-8\"}}\n\
                {\"@timestamp\":\"2026-11-22T05:01:00Z\",\"message\":\"bulk one\",\"winlog\":{\"event_id\":4625,\"channel\":\"Security\"}}\n\
                {\"index\":{}}\n{\"message\":\"bulk two\"}\n";
    let (body, status) = curl(&[
        "-u",
        "winlogbeat:energo-secret",
        "-H",
        "Content-Type: application/x-ndjson",
        "--data-binary",
        bulk,
        &format!("{base}/winlogbeat-8/_bulk"),
    ]);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["errors"], false, "{body}");
    assert_eq!(answer["items"].as_array().unwrap().len(), 2);
    assert_eq!(answer["items"][0]["create"]["status"], 201);

    // The probes Beats make before shipping.
    let (body, status) = curl(&["-u", "winlogbeat:energo-secret", &format!("{base}/")]);
    assert_eq!(status, 200);
    assert!(body.contains("You Know, for Search"), "{body}");

    server.stop();
    let akimat = site.export("akimat");
    let messages: Vec<_> = akimat
        .iter()
        .map(|e| e["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    for expected in ["first", "second", "gzipped"] {
        assert!(
            messages.contains(&expected),
            "{expected} missing from {messages:?}"
        );
    }
    let first = with_message(&akimat, "first")[0];
    assert_eq!(first["@timestamp"], "2026-11-22T05:00:00Z");
    assert_eq!(first["host"]["name"], "web-1");
    assert_eq!(first["kuzet"]["source"], "akimat-beats");
    let energo = site.export("energo");
    assert_eq!(energo.len(), 2);
    assert_eq!(
        with_message(&energo, "bulk one")[0]["winlog"]["event_id"],
        4625
    );
    assert_eq!(
        with_message(&energo, "bulk one")[0]["organization"]["id"],
        "energo"
    );
}

#[test]
fn unknown_senders_are_refused_and_counted_never_mixed_in() {
    // Only token sources: 127.0.0.1 is nobody's syslog peer here.
    let site = Site::new(
        &format!(
            "[[tenants]]\nid = \"only\"\nname = \"Only\"\n[[tenants.sources]]\nid = \"only-beats\"\n\
             token_sha256 = [\"{}\"]\n",
            sha256_hex("only-secret")
        ),
        "",
    );
    let server = site.start();
    let base = format!("http://{}", server.http());
    let (_, status) = curl(&[
        "--data-binary",
        "{\"message\":\"x\"}",
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 401);
    let (_, status) = curl(&[
        "-H",
        "Authorization: Bearer guessed",
        "--data-binary",
        "{\"message\":\"x\"}",
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 401);
    // logger reports no error for a refused TCP peer (the connection is closed after accept); the counters say it.
    let _ = Command::new("logger")
        .args([
            "-n",
            "127.0.0.1",
            "-P",
            &server.addresses.tcp.unwrap().port().to_string(),
            "-T",
            "refused tcp",
        ])
        .status();
    logger(&[
        "-n",
        "127.0.0.1",
        "-P",
        &server.addresses.udp.unwrap().port().to_string(),
        "-d",
        "unattributed udp",
    ]);
    server.wait_metric(
        r#"kuzet_ingest_refused_total{transport="tcp",reason="unknown_source"}"#,
        1.0,
    );
    server.wait_metric(
        r#"kuzet_ingest_dropped_total{transport="udp",reason="unattributed"}"#,
        1.0,
    );
    server.stop();
    assert!(site.export("only").is_empty());
}

#[test]
fn bad_input_is_refused_or_counted_and_the_server_keeps_serving() {
    let site = Site::new(
        &tenants(),
        "max_message_bytes = 4096\nhttp_max_decompressed_bytes = 1048576",
    );
    let server = site.start();
    let tcp = server.addresses.tcp.unwrap();
    let base = format!("http://{}", server.http());

    // Oversized octet-counted frame, invalid UTF-8, then a good frame on the same connection.
    let mut stream = std::net::TcpStream::connect(tcp).unwrap();
    let big = "A".repeat(10_000);
    let mut bytes = format!("{} {big}", big.len()).into_bytes();
    let bad_utf8: &[u8] = b"<13>Nov 22 05:00:00 host app: caf\xe9 \xff\xfe";
    bytes.extend_from_slice(format!("{} ", bad_utf8.len()).as_bytes());
    bytes.extend_from_slice(bad_utf8);
    let good = "<13>Nov 22 05:00:01 host app: still here";
    bytes.extend_from_slice(format!("{} {good}", good.len()).as_bytes());
    stream.write_all(&bytes).unwrap();
    drop(stream);

    // A gzip bomb: 64 MiB of zeros compressed to a few KB.
    let bomb = site.path("bomb.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    std::fs::write(&bomb, encoder.finish().unwrap()).unwrap();
    let (_, status) = curl(&[
        "-H",
        "Authorization: Bearer akimat-secret",
        "-H",
        "Content-Encoding: gzip",
        "--data-binary",
        &format!("@{}", bomb.display()),
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 413, "a decompression bomb is refused as too large");
    // Broken JSON: refused whole, naming the line.
    let (body, status) = curl(&[
        "-H",
        "Authorization: Bearer akimat-secret",
        "--data-binary",
        "{\"message\":\"ok\"}\n{broken\n",
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 400);
    assert!(body.contains("line 2"), "{body}");

    server.wait_metric(
        r#"kuzet_ingest_dropped_total{transport="tcp",reason="oversized"}"#,
        1.0,
    );
    server.wait_metric(r#"kuzet_ingest_acknowledged_total{transport="tcp"}"#, 2.0);
    let (health, status) = curl(&[&format!("{base}/health")]);
    assert_eq!(status, 200, "{health}");
    server.stop();

    let events = site.export("akimat");
    assert_eq!(
        events.len(),
        2,
        "the bad-UTF-8 and the good frame, nothing of the refused HTTP requests"
    );
    let invalid = events
        .iter()
        .find(|e| e["kuzet"]["issues"].to_string().contains("invalid_utf8"))
        .expect("invalid UTF-8 is kept with a parse issue");
    // The ECS view shows the original with invalid bytes replaced; the archive keeps the exact bytes.
    let original = invalid["event"]["original"].as_str().unwrap();
    assert!(
        original.starts_with("<13>") && original.contains("caf\u{fffd}"),
        "{original}"
    );
    // … and the export keeps the exact bytes beside it: nothing is lost.
    use base64::Engine as _;
    let exact = base64::engine::general_purpose::STANDARD
        .decode(invalid["kuzet"]["original_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(exact, bad_utf8);
    assert_eq!(with_message(&events, "still here").len(), 1);
}

#[test]
fn health_and_ready_report_a_sealer_that_stopped_with_the_reason() {
    let site = Site::new(&tenants(), "");
    let server = site.start();
    let base = format!("http://{}", server.http());
    let (_, code) = curl(&[&format!("{base}/health")]);
    assert_eq!(code, 200);
    // The sealer cannot create energo's archive directory: a file is in its way.
    std::fs::write(site.data_dir().join("archive/energo"), b"in the way").unwrap();
    let (_, code) = curl(&[
        "-H",
        "Authorization: Bearer energo-secret",
        "--data-binary",
        r#"{"message":"the event that stops the sealer"}"#,
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(code, 200, "durable in the write-ahead log");
    let start = std::time::Instant::now();
    let (body, code) = loop {
        let (body, code) = curl(&[&format!("{base}/health")]);
        if code != 200 {
            break (body, code);
        }
        assert!(start.elapsed() < DEADLINE, "health stayed ok: {body}");
        std::thread::yield_now();
    };
    assert_eq!(code, 503, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "failed");
    let reason = health["reason"].as_str().unwrap();
    assert!(
        reason.contains("sealer stopped") && reason.contains("energo"),
        "{reason}"
    );
    let (body, code) = curl(&[&format!("{base}/ready")]);
    assert_eq!(code, 503);
    assert!(body.starts_with("failed: sealer stopped"), "{body}");
}

#[test]
fn an_event_larger_than_the_write_ahead_log_holds_is_refused_not_acknowledged_and_lost() {
    let site = Site::new(&tenants(), "");
    let server = site.start();
    let base = format!("http://{}", server.http());
    // 70 MiB of JSON in one event, gzip'd to a small body: under the decompressed-body limit (256 MiB), over the
    // largest record the write-ahead log can replay (64 MiB).
    let gz = site.path("huge.json.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"{\"message\":\"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..70 {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.write_all(b"\"}").unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let (body, status) = curl(&[
        "-H",
        "Authorization: Bearer akimat-secret",
        "-H",
        "Content-Encoding: gzip",
        "--data-binary",
        &format!("@{}", gz.display()),
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("larger than"), "{body}");
    // Nothing was acknowledged, so a crash now loses nothing; the next start neither truncates nor refuses.
    server.crash();
    let server = site.start();
    let (body, status) = curl(&[
        "-H",
        "Authorization: Bearer akimat-secret",
        "--data-binary",
        r#"{"message":"after the huge one"}"#,
        &format!("http://{}/ingest/v1/events", server.http()),
    ]);
    assert_eq!(status, 200, "{body}");
    server.stop();
    assert_eq!(site.export("akimat").len(), 1);
}

#[test]
fn a_full_disk_refuses_new_events_loudly() {
    let site = Site::new(&tenants(), "");
    // Thresholds no disk can meet: every event meets a full disk.
    let config = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        config
            .replace(
                "disk_warn_free_percent = 0.0",
                "disk_warn_free_percent = 100.0",
            )
            .replace(
                "disk_refuse_free_percent = 0.0",
                "disk_refuse_free_percent = 100.0",
            ),
    )
    .unwrap();
    let server = site.start();
    let base = format!("http://{}", server.http());
    let (body, status) = curl(&[
        "-H",
        "Authorization: Bearer akimat-secret",
        "-H",
        "Content-Type: application/x-ndjson",
        "--data-binary",
        "{\"message\":\"refused\"}\n",
        &format!("{base}/ingest/v1/events"),
    ]);
    assert_eq!(status, 429, "{body}");
    server.wait_metric("kuzet_disk_refused_events_total", 1.0);
    let (health, code) = curl(&[&format!("{base}/health")]);
    assert_eq!(code, 503, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "failed");
    let reason = health["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("disk: ") && reason.contains("new events are refused"),
        "{reason}"
    );
    assert!(health["disk"]["refused_events"].as_u64().unwrap() >= 1);
    server.stop();
    assert!(
        site.export("akimat").is_empty(),
        "nothing refused was sealed"
    );
}
