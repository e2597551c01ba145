//! Parses every file of the shared public test data (`<workspace>/../shared/testdata`, read-only, never copied into
//! the repository) and prints what came out per set: events, parse issues by code, EVTX decoding errors.
//!
//! What it holds the parsers to: no panic on real data, `event.original` always the exact input, every EVTX record
//! the `evtx` crate renders maps without a `bad_evtx` issue and with its own time, and a damaged chunk costs only
//! that chunk. When the test data is absent the test says so and passes.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use kuzet_model::{Event, EventId, FormatHint, IssueCode, RawEvent, SourceId, TenantId, Transport};
use kuzet_parse::ParseOptions;

fn testdata() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    if path.is_dir() {
        Some(path)
    } else {
        println!(
            "shared testdata absent at {}: corpus test skipped",
            path.display()
        );
        None
    }
}

/// Counts for one data set.
#[derive(Default)]
struct Tally {
    files: usize,
    events: usize,
    /// Records the EVTX decoder could not render (damaged chunk or record).
    decode_errors: usize,
    issues: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn count(&mut self, event: &Event) {
        self.events += 1;
        for issue in &event.issues {
            *self.issues.entry(issue.code.as_str()).or_default() += 1;
        }
    }

    fn issue_count(&self, code: IssueCode) -> usize {
        self.issues.get(code.as_str()).copied().unwrap_or(0)
    }

    fn print(&self, name: &str) {
        let issues: Vec<String> = self
            .issues
            .iter()
            .map(|(code, n)| format!("{code}={n}"))
            .collect();
        println!(
            "{name:<28} files {:>4}  events {:>7}  decode errors {:>4}  issues: {}",
            self.files,
            self.events,
            self.decode_errors,
            if issues.is_empty() {
                "none".to_owned()
            } else {
                issues.join(" ")
            }
        );
    }
}

fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn has_suffix(path: &Path, suffix: &str) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(suffix))
}

fn received() -> jiff::Timestamp {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn bare_event(bytes: &[u8]) -> Event {
    Event::new(
        EventId::from_parts(0x0190_0000_0000, 1),
        TenantId::new("corpus").unwrap(),
        SourceId::new("testdata").unwrap(),
        received(),
        bytes.to_vec(),
    )
}

/// One `.evtx` file through `records` + `parse_record`.
fn parse_evtx_file(path: &Path, tally: &mut Tally) {
    tally.files += 1;
    let bytes = std::fs::read(path).unwrap();
    for record in kuzet_parse::evtx::records(bytes) {
        let json = match record {
            Ok(json) => json,
            Err(error) => {
                println!("  {}: {error}", path.display());
                tally.decode_errors += 1;
                continue;
            }
        };
        let mut event = bare_event(&json);
        kuzet_parse::evtx::parse_record(&mut event, &json);
        assert_eq!(event.original, json, "{}: original kept", path.display());
        assert!(
            !event.has_issue(IssueCode::BadEvtx),
            "{}: {:?}",
            path.display(),
            event.issues
        );
        tally.count(&event);
    }
}

fn parse_line(bytes: &[u8], options: &ParseOptions, tally: &mut Tally, origin: &Path) {
    let raw = RawEvent {
        id: EventId::from_parts(0x0190_0000_0000, 2),
        tenant: TenantId::new("corpus").unwrap(),
        source: SourceId::new("testdata").unwrap(),
        received: received(),
        transport: Transport::File,
        peer: None,
        format: FormatHint::Auto,
        bytes: bytes.to_vec(),
    };
    let event = kuzet_parse::parse(&raw, options);
    assert_eq!(event.original, bytes, "{}: original kept", origin.display());
    tally.count(&event);
}

fn parse_lines(reader: impl BufRead, options: &ParseOptions, tally: &mut Tally, origin: &Path) {
    for line in reader.split(b'\n') {
        let mut line = line.unwrap();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        parse_line(&line, options, tally, origin);
    }
}

#[test]
fn every_shared_test_file_parses() {
    let Some(root) = testdata() else { return };
    let options = ParseOptions::default();
    let mut report: Vec<(&str, Tally)> = Vec::new();

    for (name, dir) in [
        ("evtx (EVTX-ATTACK-SAMPLES)", "evtx"),
        ("evtx (sigma regression)", "sigma/regression_data"),
    ] {
        let mut tally = Tally::default();
        for path in files_under(&root.join(dir), &|p| has_suffix(p, ".evtx")) {
            parse_evtx_file(&path, &mut tally);
        }
        assert!(
            tally.files > 0 && tally.events > 0,
            "{name}: nothing parsed"
        );
        assert_eq!(
            tally.issue_count(IssueCode::NoTimestamp),
            0,
            "{name}: records without time"
        );
        report.push((name, tally));
    }

    let mut tally = Tally::default();
    for path in files_under(&root.join("loghub"), &|p| has_suffix(p, "_2k.log")) {
        tally.files += 1;
        let file = std::fs::File::open(&path).unwrap();
        parse_lines(BufReader::new(file), &options, &mut tally, &path);
    }
    report.push(("loghub", tally));

    // The Suricata samples are pretty-printed JSON arrays; a shipper sends each element as one line.
    let mut tally = Tally::default();
    for path in files_under(&root.join("suricata/samples"), &|p| has_suffix(p, ".json")) {
        tally.files += 1;
        let text = std::fs::read(&path).unwrap();
        let events: Vec<serde_json::Value> = match serde_json::from_slice(&text) {
            Ok(serde_json::Value::Array(items)) => items,
            // An eve.json in its usual one-document-per-line form.
            _ => {
                parse_lines(&text[..], &options, &mut tally, &path);
                continue;
            }
        };
        for item in events {
            parse_line(
                &serde_json::to_vec(&item).unwrap(),
                &options,
                &mut tally,
                &path,
            );
        }
    }
    report.push(("suricata eve", tally));

    let mut tally = Tally::default();
    for path in files_under(&root.join("zeek"), &|p| has_suffix(p, ".json.gz")) {
        tally.files += 1;
        let file = std::fs::File::open(&path).unwrap();
        let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
        parse_lines(reader, &options, &mut tally, &path);
    }
    report.push(("zeek", tally));

    let mut tally = Tally::default();
    for path in files_under(&root.join("otrf"), &|p| has_suffix(p, ".zip")) {
        tally.files += 1;
        let archive = std::fs::read(&path).unwrap();
        for (name, content) in zip_entries(&archive, &path) {
            // Packet captures are not log events.
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                continue;
            }
            let lines = content.split(|b| *b == b'\n').filter(|l| !l.is_empty());
            // The LSASS campaign alone is 100 MB of JSON; a slice of each capture keeps the test quick in debug.
            for line in lines.take(OTRF_LINES_PER_ENTRY) {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                parse_line(line, &options, &mut tally, &path);
            }
        }
    }
    report.push(("otrf (first lines per file)", tally));

    println!("\nshared test data at {}:", root.display());
    for (name, tally) in &report {
        tally.print(name);
    }
    for (name, tally) in &report {
        assert!(tally.events > 0, "{name}: no events parsed");
    }
}

const OTRF_LINES_PER_ENTRY: usize = 5_000;

/// A damaged chunk yields an error for that chunk, and the records of the other chunks still come out.
#[test]
fn a_damaged_chunk_costs_only_that_chunk() {
    let Some(root) = testdata() else { return };
    const HEADER: usize = 4096;
    const CHUNK: usize = 65536;
    // The first file whose records span more than one chunk.
    let candidate = files_under(&root.join("evtx"), &|p| has_suffix(p, ".evtx"))
        .into_iter()
        .map(|path| std::fs::read(path).unwrap())
        .find(|bytes| {
            bytes.len() >= HEADER + 2 * CHUNK
                && bytes[HEADER + CHUNK..HEADER + CHUNK + 8] == *b"ElfChnk\0"
        });
    let Some(mut file) = candidate else {
        println!("no multi-chunk .evtx file in the shared test data: damaged-chunk test skipped");
        return;
    };
    let intact = kuzet_parse::evtx::records(file.clone())
        .filter(Result::is_ok)
        .count();
    // Break the first chunk's magic: it can no longer be read at all.
    file[HEADER..HEADER + 8].copy_from_slice(b"BADCHNK\0");
    let items: Vec<_> = kuzet_parse::evtx::records(file.clone()).collect();
    let errors: Vec<String> = items
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| e.to_string())
        .collect();
    let survived = items.iter().filter(|r| r.is_ok()).count();
    assert!(!errors.is_empty(), "the damaged chunk was not reported");
    assert!(errors[0].starts_with("evtx chunk 0"), "{errors:?}");
    assert!(
        survived > 0 && survived < intact,
        "intact {intact}, after damage {survived}"
    );

    // Noise over the records area of the first chunk: records fail one by one, nothing panics.
    for (index, byte) in file[HEADER + 512..HEADER + CHUNK].iter_mut().enumerate() {
        *byte = (index as u8).wrapping_mul(151).wrapping_add(7);
    }
    file[HEADER..HEADER + 8].copy_from_slice(b"ElfChnk\0");
    let items: Vec<_> = kuzet_parse::evtx::records(file).collect();
    assert!(items.iter().filter(|r| r.is_ok()).count() > 0);
}

/// The entries of a zip archive, inflated: enough of the format for the OTRF captures (stored or deflated,
/// sizes from the central directory since some entries use data descriptors).
fn zip_entries(archive: &[u8], origin: &Path) -> Vec<(String, Vec<u8>)> {
    let u16_at = |at: usize| u16::from_le_bytes([archive[at], archive[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(archive[at..at + 4].try_into().unwrap()) as usize;
    // End of central directory: the last `PK\x05\x06`.
    let eocd = (0..=archive.len().saturating_sub(22))
        .rev()
        .find(|&at| archive[at..at + 4] == *b"PK\x05\x06")
        .unwrap_or_else(|| panic!("{}: no zip end record", origin.display()));
    let count = u16_at(eocd + 10);
    let mut at = u32_at(eocd + 16);
    let mut entries = Vec::new();
    for _ in 0..count {
        assert_eq!(
            &archive[at..at + 4],
            b"PK\x01\x02",
            "{}: central directory",
            origin.display()
        );
        let method = u16_at(at + 10);
        let compressed = u32_at(at + 20);
        let name_len = u16_at(at + 28);
        let extra_len = u16_at(at + 30);
        let comment_len = u16_at(at + 32);
        let local = u32_at(at + 42);
        let name = String::from_utf8_lossy(&archive[at + 46..at + 46 + name_len]).into_owned();
        at += 46 + name_len + extra_len + comment_len;

        let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let data = &archive[data_at..data_at + compressed];
        let content = match method {
            0 => data.to_vec(),
            8 => {
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(data)
                    .read_to_end(&mut out)
                    .unwrap();
                out
            }
            other => panic!(
                "{}: {name}: zip method {other} not supported",
                origin.display()
            ),
        };
        if !name.ends_with('/') {
            entries.push((name, content));
        }
    }
    entries
}

/// SigmaHQ ships, beside each regression `.evtx`, the record(s) its rule must match as rendered JSON (an older
/// evtx renderer). Our `winlog.event_data.*` must hold the same names and values, since Sigma rules are written
/// against them. Known rendering differences are normalized: GUIDs (braces, case) and numbers as text.
#[test]
fn sigma_regression_event_data_matches_the_reference_rendering() {
    let Some(root) = testdata() else { return };
    let cases = files_under(&root.join("sigma/regression_data"), &|p| {
        p.file_name().is_some_and(|n| n == "info.yml")
    });
    let (mut compared, mut matched) = (0usize, 0usize);
    let mut mismatches: Vec<String> = Vec::new();
    for info in &cases {
        let case = info.parent().unwrap();
        let Some(evtx) = files_under(case, &|p| has_suffix(p, ".evtx"))
            .into_iter()
            .next()
        else {
            continue;
        };
        let mut ours: BTreeMap<i64, Event> = BTreeMap::new();
        for json in kuzet_parse::evtx::records(std::fs::read(&evtx).unwrap()).filter_map(Result::ok)
        {
            let mut event = bare_event(&json);
            kuzet_parse::evtx::parse_record(&mut event, &json);
            if let Some(id) = event
                .fields
                .get(kuzet_model::fields::WINLOG_RECORD_ID)
                .and_then(kuzet_model::Value::as_i64)
            {
                ours.insert(id, event);
            }
        }
        for expected_path in files_under(case, &|p| has_suffix(p, ".json")) {
            let bytes = std::fs::read(&expected_path).unwrap();
            // Some files hold several documents one after another.
            for document in
                serde_json::Deserializer::from_slice(&bytes).into_iter::<serde_json::Value>()
            {
                let document = document.unwrap();
                let Some(expected) = document["Event"]["EventData"].as_object() else {
                    continue;
                };
                let record_id = document["Event"]["System"]["EventRecordID"].as_i64();
                compared += 1;
                let Some(event) = record_id.and_then(|id| ours.get(&id)) else {
                    mismatches.push(format!(
                        "{}: record {record_id:?} not found",
                        evtx.display()
                    ));
                    continue;
                };
                let differences: Vec<String> = expected
                    .iter()
                    .filter(|(name, _)| !name.starts_with('#') && *name != "Data")
                    .filter_map(|(name, value)| {
                        let want = comparable(&match value {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => String::new(),
                            other => other.to_string(),
                        });
                        let got = event
                            .fields
                            .get(&format!("winlog.event_data.{name}"))
                            .map(|v| comparable(&v.to_string()))
                            .unwrap_or_default();
                        (want != got).then(|| format!("{name}: ours {got:?}, reference {want:?}"))
                    })
                    .collect();
                if differences.is_empty() {
                    matched += 1;
                } else {
                    mismatches.push(format!("{}: {}", evtx.display(), differences.join("; ")));
                }
            }
        }
    }
    println!("sigma regression records: {matched} of {compared} match the reference event data");
    for mismatch in mismatches.iter().take(10) {
        println!("  {mismatch}");
    }
    assert!(compared > 100, "only {compared} reference records found");
    assert!(
        matched * 100 >= compared * 97,
        "{matched} of {compared} reference records match"
    );
}

/// GUIDs as `{abc…}` and `ABC…` compare equal.
fn comparable(text: &str) -> String {
    let bare = text.trim_start_matches('{').trim_end_matches('}');
    let is_guid = bare.len() == 36
        && bare.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    if is_guid {
        bare.to_ascii_lowercase()
    } else {
        text.to_owned()
    }
}
