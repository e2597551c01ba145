//! Arbitrary text as a TAXII query string (`k=v&k=v`): it reads or is refused naming the parameter, and a page
//! never holds more than asked. The same text as an indicator's value: exported as a STIX pattern, it reads back
//! as itself.
#![no_main]

use kuzet_detect::{IndicatorKind, IndicatorSet, Provenance};
use kuzet_exchange::stix::{self, Tlp};
use kuzet_exchange::taxii;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pairs = text
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")));
    let at = jiff::Timestamp::UNIX_EPOCH;
    let objects: Vec<_> = (0..5)
        .map(|i| stix::identity(&i.to_string(), "org", at, Tlp::Clear))
        .collect();
    match taxii::Query::parse(pairs) {
        Ok(query) => {
            let page = taxii::page(&objects, &query);
            assert!(page.objects.len() <= query.limit.unwrap_or(taxii::MAX_PAGE));
            let _ = page.envelope();
        }
        Err(error) => assert!(error.to_string().contains("taxii query parameter")),
    }
    for kind in [IndicatorKind::Url, IndicatorKind::Domain, IndicatorKind::Email] {
        let mut set = IndicatorSet::new();
        set.add(kind, text, Provenance::default());
        let Some(indicator) = set.indicators().first() else {
            continue;
        };
        let object = stix::indicator(indicator, "identity--x", at, Tlp::Green);
        let mut back = IndicatorSet::new();
        back.add_stix("export", &stix::bundle([&object]).to_string());
        assert_eq!(back.indicators().len(), 1, "{:?}", back.problems());
        assert_eq!(back.indicators()[0].value, indicator.value);
    }
});
