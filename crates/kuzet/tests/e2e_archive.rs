//! The archive from the operator's side: `kuzet ingest` of files, `export`, `prove`, `verify` of the archive and
//! of its backup copy, and tampering caught and located by the command an auditor would run.

// Helpers of a test binary panic on failure like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::*;

const TENANTS: &str = r#"
[[tenants]]
id = "akimat"
name = "Akimat"
[[tenants.sources]]
id = "files"
format = "syslog"
"#;

fn fixtures(site: &Site) -> Vec<PathBuf> {
    let ndjson = site.path("events.ndjson");
    std::fs::write(
        &ndjson,
        "{\"@timestamp\":\"2026-11-20T10:00:00Z\",\"message\":\"json one\",\"user\":{\"name\":\"dana\"}}\n\
         {\"@timestamp\":\"2026-11-20T10:00:01Z\",\"message\":\"json two\"}\n",
    )
    .unwrap();
    let syslog = site.path("auth.log");
    std::fs::write(
        &syslog,
        "<38>Nov 20 15:00:00 app-01 sshd[811]: Failed password for root from 198.51.100.7 port 50022 ssh2\n\
         <86>Nov 20 15:00:05 app-01 useradd[900]: new user: name=backdoor, UID=1050, GID=1050, home=/home/backdoor, shell=/bin/bash\n\
         <14>Nov 20 15:00:09 av-01 kaspersky: CEF:0|Kaspersky Lab|KSC|14.2|GNRL_EV_VIRUS_FOUND|Virus found|8|dst=10.0.0.5 fname=evil.exe act=quarantined\n",
    )
    .unwrap();
    vec![ndjson, syslog]
}

fn ingest(site: &Site, files: &[PathBuf]) -> String {
    let mut args = vec!["ingest", "--tenant", "akimat", "--source", "files"];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let output = site.kuzet(&args);
    assert!(
        output.status.success(),
        "ingest: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn files_are_ingested_exported_and_proved() {
    let site = Site::new(TENANTS, "");
    let summary = ingest(&site, &fixtures(&site));
    assert!(summary.contains("5 event(s) read"), "{summary}");
    let events = site.export("akimat");
    assert_eq!(events.len(), 5);
    // One local day's logs (R5): the day's in Astana time; another day has none; a bad day is named.
    let local_day = |e: &serde_json::Value| {
        let ingested: jiff::Timestamp = e["event"]["ingested"].as_str().unwrap().parse().unwrap();
        kuzet_model::time::kz_local(ingested).date().to_string()
    };
    let today = local_day(&events[0]);
    let expected = events.iter().filter(|e| local_day(e) == today).count();
    let day = |d: &str| site.kuzet(&["export", "--tenant", "akimat", "--day", d]);
    let output = day(&today);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).lines().count(),
        expected
    );
    assert_eq!(day("2020-01-01").stdout.len(), 0);
    let bad = day("5 December");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--day `5 December`"));
    // The same day as evidence: a signed bundle of every event of that local day, each with its proof.
    let bundle = site.path("day-bundle");
    let bundle_arg = bundle.display().to_string();
    let exported = site.kuzet(&[
        "evidence",
        "export",
        "--tenant",
        "akimat",
        "--case",
        "day",
        "--reason",
        "the day's logs for the court",
        "--day",
        &today,
        "--out",
        &bundle_arg,
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let key_arg = site
        .data_dir()
        .join("archive/public.key")
        .display()
        .to_string();
    let checked = site.kuzet(&["verify-bundle", &bundle_arg, "--public-key", &key_arg]);
    let text = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(checked.status.success(), "{text}");
    assert!(
        text.contains(&format!("intact: {expected} event(s) of tenant `akimat`")),
        "{text}"
    );
    let empty_arg = site.path("empty-day").display().to_string();
    let empty = site.kuzet(&[
        "evidence",
        "export",
        "--tenant",
        "akimat",
        "--case",
        "day",
        "--reason",
        "r",
        "--day",
        "2020-01-01",
        "--out",
        &empty_arg,
    ]);
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no events received that day"));
    let cef = with_message(&events, "Virus found");
    assert_eq!(cef.len(), 1, "{events:#?}");
    assert_eq!(cef[0]["observer"]["vendor"], "Kaspersky Lab");
    let useradd = events
        .iter()
        .find(|e| e["event"]["original"].as_str().unwrap().contains("useradd"))
        .unwrap();
    assert_eq!(useradd["user"]["target"]["name"], "backdoor");

    let id = events[2]["event"]["id"].as_str().unwrap();
    let output = site.kuzet(&["prove", id]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let proof: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(proof["event_id"], id);
    assert!(proof["checkpoint"]["sig"].is_string(), "{proof:#}");

    // A third party checks the saved proof with the public key alone; a changed proof fails.
    let saved = site.path("proof.json");
    std::fs::write(&saved, &output.stdout).unwrap();
    let key = site.data_dir().join("archive/public.key");
    let (saved_arg, key_arg) = (saved.display().to_string(), key.display().to_string());
    let checked = site.kuzet(&["prove", "--check", &saved_arg, "--public-key", &key_arg]);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(String::from_utf8_lossy(&checked.stdout).starts_with("proof ok: event"));
    let record = proof["record"].as_str().unwrap();
    let flipped = if record.ends_with('0') { "1" } else { "0" };
    let altered = String::from_utf8(output.stdout.clone())
        .unwrap()
        .replace(record, &format!("{}{flipped}", &record[..record.len() - 1]));
    std::fs::write(&saved, altered).unwrap();
    let checked = site.kuzet(&["prove", "--check", &saved_arg, "--public-key", &key_arg]);
    assert!(
        !checked.status.success(),
        "an altered proof must not verify"
    );

    let output = site.kuzet(&["prove", "01a2015e-0000-7000-8000-000000000000"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("01a2015e-0000-7000-8000-000000000000")
    );

    // The shared public data set, when present: real EVTX files from attack simulations.
    let evtx_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/evtx/Credential Access");
    match std::fs::read_dir(&evtx_dir) {
        Err(_) => println!(
            "shared testdata absent at {}: EVTX file ingest not exercised",
            evtx_dir.display()
        ),
        Ok(entries) => {
            let file = entries
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "evtx"))
                .expect("an evtx file");
            let path = file.display().to_string();
            let output = site.kuzet(&["ingest", "--tenant", "akimat", "--source", "files", &path]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "ingest: {stderr}");
            // A user sees only what concerns them: no warning of the EVTX library about its own settings.
            assert!(!stderr.contains("num_threads"), "{stderr}");
            let summary = String::from_utf8_lossy(&output.stdout).into_owned();
            println!("{}: {summary}", file.display());
            let events = site.export("akimat");
            assert!(events.len() > 5, "{summary}");
            assert!(events.iter().any(
                |e| e["winlog"]["event_id"].is_number() || e["winlog"]["event_id"].is_string()
            ));
        }
    }
    let (intact, report) = site.verify();
    assert!(intact, "{report}");
}

#[test]
fn tampering_is_detected_and_located_by_kuzet_verify() {
    let site = Site::new(TENANTS, "");
    ingest(&site, &fixtures(&site));
    let (intact, _) = site.verify();
    assert!(intact);
    let segment = site.data_dir().join("archive/akimat/0000000000.seg");
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    let (intact, report) = site.verify();
    assert!(!intact, "a flipped byte must be detected:\n{report}");
    assert!(
        report.contains("0000000000.seg"),
        "the report names the segment:\n{report}"
    );

    bytes[middle] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    assert!(site.verify().0, "restored bytes verify again");

    // A forged checkpoint: the last line's root changed without the key.
    let checkpoints = site.data_dir().join("archive/akimat/checkpoints.log");
    let text = std::fs::read_to_string(&checkpoints).unwrap();
    let forged = text.replacen("\"tree_size\":1", "\"tree_size\":2", 1);
    assert_ne!(forged, text, "checkpoint format changed: {text}");
    std::fs::write(&checkpoints, forged).unwrap();
    let (intact, report) = site.verify();
    assert!(!intact, "a forged checkpoint must be detected:\n{report}");
    assert!(report.to_lowercase().contains("checkpoint"), "{report}");
}

#[test]
fn the_backup_copy_verifies_the_same_way() {
    let site = Site::new(TENANTS, "");
    let backup = site.path("backup");
    let config = std::fs::read_to_string(&site.config).unwrap().replace(
        "[store]\n",
        &format!(
            "[store]\nbackup_dir = {:?}\nsegment_bytes = 4096\nblock_bytes = 2048\n",
            backup
        ),
    );
    std::fs::write(&site.config, config).unwrap();
    let lines: String = (0..400)
        .map(|i| format!("<13>Nov 20 15:00:00 host app[1]: event number {i} with some padding to fill segments\n"))
        .collect();
    let file = site.path("many.log");
    std::fs::write(&file, lines).unwrap();
    ingest(&site, &[file]);
    let output = site.kuzet(&["verify", "--archive", &backup.display().to_string()]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "backup copy: {report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        backup.join("akimat").read_dir().unwrap().count() >= 2,
        "closed segments were copied"
    );
}

#[test]
fn serve_refuses_a_loose_key_and_a_key_that_really_lives_in_the_data_directory() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new("", "");
    let key = site.path("keys/seal.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = site.kuzet(&["serve"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("mode 0644") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The key moved into the data directory and reached through a link that looks like another place.
    let inside = site.data_dir().join("seal.key");
    std::fs::rename(&key, &inside).unwrap();
    std::os::unix::fs::symlink(site.data_dir(), site.path("keys-elsewhere")).unwrap();
    let config = std::fs::read_to_string(&site.config).unwrap();
    let config = config.replace(
        &format!("{:?}", key),
        &format!("{:?}", site.path("keys-elsewhere/seal.key")),
    );
    std::fs::write(&site.config, config).unwrap();
    let out = site.kuzet(&["serve"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("inside the data directory"), "{stderr}");
}

#[test]
fn the_archive_keeps_what_was_received_and_export_derives_the_event() {
    let site = Site::new(TENANTS, "");
    let files = fixtures(&site);
    ingest(&site, &files);
    let output = site.kuzet(&["export", "--tenant", "akimat", "--stored"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stored: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let inputs: Vec<String> = files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(stored.len(), inputs.len());
    for (record, line) in stored.iter().zip(&inputs) {
        // Every byte as received, with the envelope the parse needs.
        assert_eq!(record["original"].as_str(), Some(line.as_str()), "{record}");
        assert_eq!(record["format_version"], 2);
        assert_eq!(record["source"], "files");
        assert_eq!(record["transport"], "file");
        assert!(
            record["profile"]
                .as_str()
                .unwrap()
                .starts_with("kuzet-parse/"),
            "{record}"
        );
    }
    // The default export derives the normalized event from each record, ids and all.
    let events = site.export("akimat");
    for (event, record) in events.iter().zip(&stored) {
        assert_eq!(event["event"]["id"], record["event_id"]);
        assert_eq!(event["event"]["original"], record["original"]);
    }
    assert!(events.iter().any(|e| e["user"]["name"] == "dana"));
}

#[test]
fn bench_archive_reports_size_beside_zstd_and_rates() {
    let site = Site::new(TENANTS, "");
    let files = fixtures(&site);
    let syslog = files[1].display().to_string();
    let output = site.kuzet(&["bench", "archive", &syslog]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "input: 3 events",
        "zstd -3 of the same bytes",
        "archive / zstd -3 =",
        "verify (one thread)",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}

#[test]
fn a_data_directory_of_the_previous_release_verifies_and_exports() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kuzet-store/test_data/v1-archive");
    let site = Site::new(
        r#"
[[tenants]]
id = "alpha"
name = "Alpha"
[[tenants.sources]]
id = "files"
format = "syslog"
"#,
        "",
    );
    // The previous release's archive and the key that sealed it replace the fresh ones.
    let archive = site.data_dir().join("archive");
    std::fs::remove_dir_all(&archive).unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixture.join("archive"))
        .arg(&archive)
        .status()
        .unwrap();
    assert!(copied.success());
    let key = site.path("keys").join("seal.key");
    std::fs::copy(fixture.join("signing.key"), &key).unwrap();
    std::process::Command::new("chmod")
        .arg("600")
        .arg(&key)
        .status()
        .unwrap();
    let (intact, report) = site.verify();
    assert!(intact, "{report}");
    let exported = site.export("alpha");
    let expected: Vec<serde_json::Value> =
        std::fs::read_to_string(fixture.join("export-alpha.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(exported, expected);
    // The upgraded binary appends in format 2 after the old segment, and everything still verifies.
    let more = site.path("more.log");
    std::fs::write(&more, "<38>Nov 20 15:00:00 app-01 sshd[811]: Failed password for root from 198.51.100.7 port 50022 ssh2\n").unwrap();
    let output = site.kuzet(&[
        "ingest",
        "--tenant",
        "alpha",
        "--source",
        "files",
        &more.display().to_string(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (intact, report) = site.verify();
    assert!(intact, "{report}");
    assert_eq!(site.export("alpha").len(), expected.len() + 1);
}

#[test]
fn kuzet_search_finds_events_with_the_query_language() {
    let site = Site::new(TENANTS, "");
    ingest(&site, &fixtures(&site));
    let search = |query: &str, extra: &[&str]| {
        let mut args = vec![
            "search",
            query,
            "--from",
            "2026-11-01T00:00:00Z",
            "--to",
            "2027-01-01T00:00:00Z",
        ];
        args.extend_from_slice(extra);
        site.kuzet(&args)
    };
    let ids = |output: std::process::Output| -> Vec<String> {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let events = site.export("akimat");
    let id_of = |needle: &str| {
        events
            .iter()
            .find(|e| e["event"]["original"].as_str().unwrap().contains(needle))
            .unwrap()["event"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        ids(search("user.name:dana", &["--format", "ndjson"])),
        vec![id_of("json one")]
    );
    assert_eq!(
        ids(search(
            "\"failed password\" AND source.ip:198.51.100.0/24",
            &["--format", "ndjson"]
        )),
        vec![id_of("Failed password")]
    );
    assert_eq!(ids(search("*", &["--format", "ndjson"])).len(), 5);
    // Pages: two events, then the rest after the cursor, oldest first, nothing twice.
    let first = search("*", &["--format", "json", "--size", "2", "--oldest"]);
    let page: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(page["total"], 5);
    let cursor = page["next"].as_str().unwrap().to_owned();
    let rest = ids(search(
        "*",
        &["--format", "ndjson", "--oldest", "--cursor", &cursor],
    ));
    assert_eq!(rest.len(), 3);
    // Newest first, the same: every event once over both pages.
    let first = search("*", &["--format", "json", "--size", "2"]);
    let page: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let mut seen: Vec<String> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap().to_owned())
        .collect();
    let cursor = page["next"].as_str().unwrap().to_owned();
    seen.extend(ids(search(
        "*",
        &["--format", "ndjson", "--cursor", &cursor],
    )));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
    let table = search("user.name:dana", &[]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("1 of 1 matching event(s) shown"));
    let bad = search("user.name:", &[]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("at character 11: expected a value after `user.name:`"),
        "{stderr}"
    );
}

/// The instant `years` years and `days` days after `t` (calendar arithmetic in UTC).
fn after(t: jiff::Timestamp, years: i64, days: i64) -> jiff::Timestamp {
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(jiff::Span::new().years(years).days(days))
        .unwrap()
        .timestamp()
}

#[test]
fn segments_expire_only_after_three_years_with_tombstones_that_verify_accepts() {
    let site = Site::new(TENANTS, "");
    // Small segments, so that one import leaves several closed ones.
    let config = std::fs::read_to_string(&site.config).unwrap().replacen(
        "[store]\n",
        "[store]\nsegment_bytes = 8192\nblock_bytes = 2048\n",
        1,
    );
    std::fs::write(&site.config, config).unwrap();
    let log = site.path("many.log");
    let text: String = (0..3000)
        .map(|i| {
            format!(
                "<38>Nov 20 15:00:00 app-01 sshd[{i}]: Failed password for user{i} from 198.51.100.{} port {} ssh2\n",
                i % 250,
                40000 + i
            )
        })
        .collect();
    std::fs::write(&log, text).unwrap();
    let started = jiff::Timestamp::now();
    ingest(&site, &[log]);
    let tenant_dir = site.data_dir().join("archive").join("akimat");
    let segments = || {
        std::fs::read_dir(&tenant_dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".seg")
            })
            .count()
    };
    let before = segments();
    assert!(before >= 3, "{before} segments");
    let expire = |at: jiff::Timestamp| {
        let output = site.kuzet(&["expire", "--at", &at.to_string()]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };

    // A day short of three years: nothing goes.
    assert!(expire(after(started, 3, -1)).contains("0 segments expired"));
    assert_eq!(segments(), before);
    // Past it: every closed segment goes, the open one stays.
    let printed = expire(after(started, 3, 2));
    assert!(
        printed.contains(&format!("{} segments expired", before - 1)),
        "{printed}"
    );
    assert_eq!(segments(), 1);

    // The auditor's verify tells lawful expiry from tampering.
    let (intact, report) = site.verify();
    assert!(intact, "{report}");
    assert!(
        report.contains(&format!("({} more expired lawfully)", before - 1)),
        "{report}"
    );
    // Each removal is in the audit trail.
    let audit = site.kuzet(&["audit", "--action", "archive.expire", "--json"]);
    let records: Vec<serde_json::Value> = String::from_utf8(audit.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), before - 1);
    assert!(
        records
            .iter()
            .all(|r| r.to_string().contains("segment:akimat/"))
    );
    // What is left is still exported, and the log continues after a restart of the store.
    let left = site.export("akimat").len();
    assert!(left > 0 && left < 3000, "{left}");
    ingest(&site, &fixtures(&site));
    assert_eq!(site.export("akimat").len(), left + 5);
    let (intact, report) = site.verify();
    assert!(intact, "{report}");

    // A segment deleted by hand is tampering, whatever its age.
    let name = std::fs::read_dir(&tenant_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap();
    std::fs::remove_file(&name).unwrap();
    let (intact, report) = site.verify();
    assert!(!intact && report.contains("SegmentMissing"), "{report}");
}
