//! Golden cases of the parser (`test_data/parse.txt`): each query's canonical form, or its error with the
//! position and what was expected. `UPDATE_GOLDEN=1` rewrites the expectations; read the diff before committing.

// A failure is a broken expectation: panicking with the case is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn render(query: &str) -> String {
    match kuzet_query::parse(query) {
        Ok(parsed) => format!("=> {parsed}"),
        Err(e) => format!("!! {} | {}", e.at + 1, e.message),
    }
}

#[test]
fn queries_parse_to_their_golden_form_or_error() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/parse.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut out = String::new();
    let mut failures = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with('#') || line.is_empty() {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let query = line;
        let expected = lines.next().unwrap_or_default();
        let actual = render(query);
        if !update && expected != actual {
            failures.push(format!(
                "{query}\n  expected {expected}\n  actual   {actual}"
            ));
        }
        out.push_str(query);
        out.push('\n');
        out.push_str(&actual);
        out.push('\n');
        // A canonical form parses back to the same query.
        if let Ok(parsed) = kuzet_query::parse(query) {
            let again = kuzet_query::parse(&parsed.to_string()).unwrap();
            assert_eq!(
                again, parsed,
                "{query}: its canonical form {parsed} reads back differently"
            );
        }
    }
    if update {
        std::fs::write(&path, out).unwrap();
        return;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
