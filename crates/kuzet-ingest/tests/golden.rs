//! Golden tests of the syslog stream decoder: each `test_data/framing/<case>.log` is decoded with a 64-byte limit
//! (whole and one byte at a time, which must agree) and compared with `<case>.expected.json`. Regenerate the
//! expectations with `UPDATE_GOLDEN=1 cargo test -p kuzet-ingest --test golden`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use std::path::{Path, PathBuf};

use kuzet_ingest::codec::{BytesMut, Decoder};
use kuzet_ingest::{SyslogFrame, SyslogFrameDecoder};
use serde_json::{Value, json};

const LIMIT: usize = 64;

fn decode(bytes: &[u8], chunk: usize) -> Value {
    let mut decoder = SyslogFrameDecoder::new(LIMIT);
    let mut buffer = BytesMut::new();
    let mut out = Vec::new();
    let describe = |frame: SyslogFrame| match frame {
        SyslogFrame::Message(m) => json!({ "message": String::from_utf8_lossy(&m) }),
        // The reported length of an oversized line depends on how much had arrived when it was refused; only
        // that it was refused is stable.
        SyslogFrame::Oversized(n) => {
            assert!(n > LIMIT, "oversized frame of {n} bytes");
            json!({ "oversized": true })
        }
    };
    for piece in bytes.chunks(chunk) {
        buffer.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(frame)) => out.push(describe(frame)),
                Ok(None) => break,
                Err(error) => {
                    out.push(json!({ "error": error.to_string() }));
                    return Value::Array(out);
                }
            }
        }
    }
    loop {
        match decoder.decode_eof(&mut buffer) {
            Ok(Some(frame)) => out.push(describe(frame)),
            Ok(None) => break,
            Err(error) => {
                out.push(json!({ "error": error.to_string() }));
                break;
            }
        }
    }
    Value::Array(out)
}

/// Compares `actual` with the expectation stored beside `input`, or rewrites it when `UPDATE_GOLDEN` is set.
fn check(input: &Path, actual: &Value) {
    let expected_path = input.with_extension("expected.json");
    let rendered = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
        panic!(
            "{} missing; run with UPDATE_GOLDEN=1 to create it",
            expected_path.display()
        )
    });
    assert_eq!(
        rendered,
        expected,
        "{}: output differs from {}",
        input.display(),
        expected_path.display()
    );
}

#[test]
fn framing_cases_match_their_expectations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data/framing");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 5,
        "framing cases missing in {}",
        dir.display()
    );
    for case in cases {
        let bytes = std::fs::read(&case).unwrap();
        let whole = decode(&bytes, bytes.len().max(1));
        let bytewise = decode(&bytes, 1);
        assert_eq!(
            whole,
            bytewise,
            "{}: depends on read boundaries",
            case.display()
        );
        check(&case, &whole);
    }
}
