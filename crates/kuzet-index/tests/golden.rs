//! Golden tests of the translation: each query of `test_data/translate.txt` and how the index asks for it, in
//! `test_data/translate.expected` (query, exactness, tantivy's description). `KUZET_UPDATE_GOLDEN=1` rewrites the
//! expected file after a deliberate change; review its diff.

use std::path::Path;

#[test]
fn queries_translate_as_recorded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let input = std::fs::read_to_string(dir.join("translate.txt")).expect("translate.txt");
    let mut out = String::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let query = kuzet_query::parse(line).expect("a golden query parses");
        let (plan, exact) = kuzet_index::explain(&query).expect("translation");
        out.push_str(&format!(
            "{line}\n  {}\n  {plan}\n",
            if exact { "exact" } else { "superset" }
        ));
    }
    let expected_path = dir.join("translate.expected");
    if std::env::var_os("KUZET_UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &out).expect("write translate.expected");
    }
    let expected = std::fs::read_to_string(&expected_path).expect("translate.expected");
    assert_eq!(
        out, expected,
        "the translation changed: review, then KUZET_UPDATE_GOLDEN=1"
    );
}
