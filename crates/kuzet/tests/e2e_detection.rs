//! Streaming detection through the real binary: syslog lines sent over TCP are sealed, the built-in rules run on
//! them, an indicator feed is matched, and alerts land in the database (`kuzet alerts`). Password guessing split
//! by a restart still correlates: the correlation state survives it.

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
"#;

fn send(server: &common::Server, lines: &[String]) {
    let mut stream = TcpStream::connect(server.addresses.tcp.unwrap()).unwrap();
    for line in lines {
        stream.write_all(line.as_bytes()).unwrap();
        stream.write_all(b"\n").unwrap();
    }
    stream.flush().unwrap();
}

fn failures(from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|i| {
            format!("<38>Dec  6 14:00:{i:02} web1 sshd[99]: Failed password for root from 203.0.113.7 port 40{i:02} ssh2")
        })
        .collect()
}

/// The `detection` part of `/health` once `ready` holds of it (polled until the deadline, never slept on).
fn wait_health(
    server: &common::Server,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let (body, _) = common::curl(&["-s", &format!("http://{}/health", server.http())]);
        let health: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if ready(&health["detection"]) {
            return health["detection"].clone();
        }
        assert!(
            start.elapsed() < common::DEADLINE,
            "detection health never became ready: {body}"
        );
        std::thread::yield_now();
    }
}

fn alerts(site: &Site) -> Vec<serde_json::Value> {
    let out = site.kuzet(&["alerts", "--tenant", "akimat", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn sealed_events_raise_alerts_and_correlations_survive_a_restart() {
    let feeds = tempfile::tempdir().unwrap();
    let feed = feeds.path().join("feed.csv");
    std::fs::write(
        &feed,
        "type,value,description\nip,203.0.113.7,known SSH scanner\n",
    )
    .unwrap();
    let site = Site::new(
        &format!("[detection]\nindicators = [{feed:?}]\n{TENANTS}"),
        "",
    );
    let server = site.start();
    let mut lines = failures(0, 6);
    lines.push("<86>Dec  6 14:01:00 web1 usermod[4242]: add 'intruder' to group 'sudo'".to_owned());
    send(&server, &lines);
    server.wait_metric("kuzet_detection_events_total", 7.0);
    server.wait_metric("kuzet_alerts_total{kind=\"rule\",new=\"true\"}", 1.0);
    // /health shows what detection loaded and did, and what it dropped or suppressed (none here), once the task
    // has published after its batch.
    let health = wait_health(&server, |d| d["events"].as_u64().unwrap_or(0) >= 7);
    assert_eq!(health["rules"], 10);
    assert_eq!(health["correlations"], 3);
    assert_eq!(health["indicators"], 1);
    assert_eq!(health["alerts"]["new"], 2);
    assert_eq!(health["suppressed"]["disabled"], 0);
    assert_eq!(health["correlation_state"]["evicted_groups"], 0);
    server.stop();

    let before = alerts(&site);
    assert_eq!(before.len(), 2, "{before:#?}");
    let sudoer = before.iter().find(|a| a["kind"] == "rule").unwrap();
    assert_eq!(
        sudoer["rule_title"],
        "Linux user added to a privileged group"
    );
    assert_eq!(sudoer["level"], "high");
    assert_eq!(sudoer["status"], "new");
    assert_eq!(sudoer["detail"]["host"], "web1");
    assert_eq!(sudoer["events"].as_array().unwrap().len(), 1);
    // A high rule at a source without a facility: medium impact, under way, class 3 → level 2 proposed.
    assert_eq!(sudoer["detail"]["proposed_criticality"]["level"], 2);
    // The six lines from a known scanner are one indicator alert counting six sightings, with its provenance.
    let scanner = before.iter().find(|a| a["kind"] == "indicator").unwrap();
    assert_eq!(scanner["hits"], 6);
    assert_eq!(scanner["detail"]["field"], "source.ip");
    assert_eq!(
        scanner["detail"]["indicator"]["provenance"]["description"],
        "known SSH scanner"
    );
    assert_eq!(
        scanner["detail"]["indicator"]["provenance"]["reference"],
        "line 2"
    );

    // Six failures before the restart, four after: the count goes on from the saved state.
    let server = site.start();
    send(&server, &failures(6, 10));
    server.wait_metric("kuzet_detection_events_total", 4.0);
    server.wait_metric("kuzet_alerts_total{kind=\"correlation\",new=\"true\"}", 1.0);
    server.stop();
    let after = alerts(&site);
    let guessing: Vec<_> = after
        .iter()
        .filter(|a| a["rule_title"] == "SSH password guessing")
        .collect();
    assert_eq!(guessing.len(), 1, "{after:#?}");
    assert_eq!(guessing[0]["kind"], "correlation");
    assert_eq!(guessing[0]["detail"]["group"]["source.ip"], "203.0.113.7");
    assert_eq!(guessing[0]["detail"]["value"], 10.0);
    assert_eq!(guessing[0]["events"].as_array().unwrap().len(), 10);
    // The failures themselves feed the correlation and raise no alert of their own (Sigma's `generate: false`).
    assert!(
        !after
            .iter()
            .any(|a| a["rule_title"] == "SSH authentication failure")
    );

    // A retro-hunt over what the archive holds finds the same: all ten failures (hunt prints every level), the
    // correlation over them, and the new administrator, by their sealed event ids.
    let out = site.kuzet(&[
        "hunt",
        "--since",
        "1d",
        "--tenant",
        "akimat",
        "--builtin",
        "--format",
        "jsonl",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let titled = |title: &str| hits.iter().filter(|h| h["rule_title"] == title).count();
    assert_eq!(titled("SSH authentication failure"), 10);
    assert_eq!(titled("SSH password guessing"), 1);
    assert_eq!(titled("Linux user added to a privileged group"), 1);
    let sudoer = hits
        .iter()
        .find(|h| h["rule_title"] == "Linux user added to a privileged group")
        .unwrap();
    assert_eq!(sudoer["file"], "archive:akimat");
    assert_eq!(
        sudoer["event_id"],
        before.iter().find(|a| a["kind"] == "rule").unwrap()["events"][0]
    );
    let out = site.kuzet(&["hunt", "--since", "1d", "--builtin"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since: give the --tenant"));
}

#[test]
fn a_source_silent_beyond_its_expected_interval_is_an_alert() {
    let tenants = r#"
[detection]
source_check_interval = "100ms"

[[tenants]]
id = "energo"
name = "Energo"
[[tenants.sources]]
id = "energo-scada-gw"
format = "syslog"
peers = ["127.0.0.2/32"]
expected_interval = "1s"
"#;
    let site = Site::new(tenants, "");
    let server = site.start();
    server.wait_metric(
        "kuzet_alerts_total{kind=\"source_health\",new=\"true\"}",
        1.0,
    );
    server.stop();
    let out = site.kuzet(&["alerts", "--tenant", "energo", "--json"]);
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["rule_id"], "kuzet:source-silent");
    assert_eq!(
        alerts[0]["rule_title"],
        "Source energo-scada-gw silent beyond its expected interval"
    );
    assert_eq!(alerts[0]["detail"]["expected_interval_seconds"], 1);
    assert!(alerts[0]["detail"]["silent_seconds"].as_i64().unwrap() > 1);
}

/// An account that logs on every morning from one address logs on at 03:12: at a class-1 facility that is an
/// anomaly alert whose response is to register, block and notify the administrator at once (R9).
#[test]
fn an_unusual_logon_hour_at_a_class_1_facility_is_an_anomaly_with_the_full_response() {
    let tenants = r#"
[[tenants]]
id = "kazgov"
name = "E-government operator"
[[tenants.facilities]]
id = "egov-portal"
name = "E-government portal"
class = 1
critical = true
[[tenants.sources]]
id = "egov-linux"
facility = "egov-portal"
format = "syslog"
peers = ["127.0.0.1/32"]
"#;
    let hooks = tempfile::tempdir().unwrap();
    let blocked = hooks.path().join("blocked.txt");
    let command = format!("echo \"$1 $2\" >> {}", blocked.display());
    let site = Site::new(
        &format!(
            "[detection]\nblock_command = [\"/bin/sh\", \"-c\", {command:?}, \"block\"]\n{tenants}"
        ),
        "",
    );
    let server = site.start();
    let mut lines = Vec::new();
    for day in 1..=30 {
        lines.push(format!(
            "<38>Nov {day:>2} 09:{day:02}:00 portal1 sshd[7]: Accepted password for aidos from 10.20.0.5 port 5{day:04} ssh2"
        ));
    }
    lines.push("<38>Dec  1 03:12:00 portal1 sshd[7]: Accepted password for aidos from 10.20.0.5 port 51000 ssh2".into());
    send(&server, &lines);
    server.wait_metric("kuzet_alerts_total{kind=\"anomaly\",new=\"true\"}", 1.0);
    server.wait_metric("kuzet_response_block_total{outcome=\"success\"}", 1.0);
    server.stop();
    // The block command ran once, with the tenant and the account, and the run is in the sealed audit trail.
    assert_eq!(std::fs::read_to_string(&blocked).unwrap(), "kazgov aidos\n");
    let audit = site.kuzet(&["audit", "--action", "response.", "--json"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("\"action\":\"response.block\""), "{audit}");
    assert!(audit.contains("account aidos: /bin/sh exited 0"), "{audit}");
    let out = site.kuzet(&["alerts", "--tenant", "kazgov", "--json"]);
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let anomaly = alerts
        .iter()
        .find(|a| a["kind"] == "anomaly")
        .expect("an anomaly alert");
    assert_eq!(anomaly["rule_id"], "kuzet:anomaly:logon_hour");
    assert_eq!(anomaly["level"], "critical");
    assert_eq!(anomaly["detail"]["facility"]["class"], 1);
    // Critical at a critical class-1 facility: high impact, succeeded, class 1, critical infrastructure → 3.
    assert_eq!(anomaly["detail"]["proposed_criticality"]["level"], 3);
    assert_eq!(
        anomaly["detail"]["response"],
        serde_json::json!(["register", "block", "notify_administrator"])
    );
    assert_eq!(
        anomaly["detail"]["anomaly"]["explanation"],
        "account aidos logged on at 03:12 Kazakhstan time; it logged on in that hour 0 of 30 times"
    );
}

/// Rules imported into the database run in `kuzet serve` beside the built-in pack; importing a changed file adds a
/// version, an unchanged one nothing.
#[test]
fn imported_rules_are_versioned_and_run() {
    let rules = tempfile::tempdir().unwrap();
    let file = rules.path().join("linux").join("kz_backdoor_user.yml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let rule = |level: &str| {
        format!(
            "title: Known backdoor account name\nid: 0b7c1f0e-1111-4222-8333-944455556666\nlevel: {level}\n\
             logsource: {{product: linux}}\ndetection:\n  sel: {{ user.target.name: [toor, kz_admin_bkp] }}\n  condition: sel\n"
        )
    };
    std::fs::write(&file, rule("medium")).unwrap();
    let site = Site::new(TENANTS, "");
    let dir = rules.path().display().to_string();
    let first = site.kuzet(&["rules", "import", &dir]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .contains("1 file(s): 1 new, 0 changed, 0 unchanged; 0 rule problem(s)")
    );
    let again = site.kuzet(&["rules", "import", &dir]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 new, 0 changed, 1 unchanged"));
    std::fs::write(&file, rule("critical")).unwrap();
    let changed = site.kuzet(&["rules", "import", &dir]);
    let changed = String::from_utf8_lossy(&changed.stdout).into_owned();
    assert!(
        changed.contains("linux/kz_backdoor_user.yml: version 2"),
        "{changed}"
    );

    let server = site.start();
    send(&server, &["<86>Dec  6 14:02:00 web1 useradd[51]: new user: name=kz_admin_bkp, UID=0, GID=0, home=/root, shell=/bin/bash".to_owned()]);
    server.wait_metric("kuzet_alerts_total{kind=\"rule\",new=\"true\"}", 1.0);
    server.stop();
    let alerts = alerts(&site);
    let imported = alerts
        .iter()
        .find(|a| a["rule_title"] == "Known backdoor account name")
        .unwrap_or_else(|| panic!("{alerts:#?}"));
    assert_eq!(imported["level"], "critical", "the latest version runs");
}
