//! What the tests and the benchmark share: files of the shared test data and events parsed by Kuzet's parsers.
// Each test binary uses a part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kuzet_model::{Event, EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};

/// `<workspace>/../shared/testdata` (read-only, never copied into the repository).
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
}

/// The files under `dir` that `keep` accepts, recursively, sorted.
pub fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(files(&path, keep));
        } else if keep(&path) {
            out.push(path);
        }
    }
    out
}

/// Files with one of these extensions.
pub fn with_extension<'a>(extensions: &'a [&'a str]) -> impl Fn(&Path) -> bool + 'a {
    move |path| {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
    }
}

/// `bytes` as Kuzet's parsers make them into an event, received at `at`.
pub fn parse(bytes: &[u8], format: FormatHint, at: jiff::Timestamp) -> Event {
    let raw = RawEvent {
        id: EventId::from_u128(7),
        tenant: TenantId::new("t").unwrap(),
        source: SourceId::new("s").unwrap(),
        received: at,
        transport: Transport::File,
        peer: None,
        format,
        bytes: bytes.to_vec(),
    };
    kuzet_parse::parse(&raw, &kuzet_parse::ParseOptions::default())
}
