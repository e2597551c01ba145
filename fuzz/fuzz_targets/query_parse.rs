//! Arbitrary text as an analyst's query: parsing returns a query or an error pointing inside the text, never
//! panics; a parsed query's canonical text parses back to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match kuzet_query::parse(text) {
        Ok(query) => {
            // The canonical text spells out groups (`f:(a b)` is `(f:a AND f:b)`), so it may pass the length
            // limit that the query itself kept.
            let canonical = query.to_string();
            if canonical.chars().count() <= kuzet_query::MAX_QUERY_CHARS {
                let again = kuzet_query::parse(&canonical);
                assert_eq!(again.as_ref(), Ok(&query), "{text:?} -> {query}");
            }
        }
        Err(e) => assert!(e.at <= text.chars().count()),
    }
});
