//! Indicators from a CSV feed, a STIX 2.1 bundle and a MISP feed event (`test_data/indicators/`), matched against
//! events: addresses and networks, domains and their subdomains, URLs, hashes (also inside Sysmon's `Hashes`),
//! e-mail addresses; expiry; every match with its provenance; every bad entry reported by feed and position.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kuzet_detect::{IndicatorKind, IndicatorSet, sample_event};

fn set() -> IndicatorSet {
    let mut set = IndicatorSet::new();
    set.add_csv("feed.csv", include_str!("../test_data/indicators/feed.csv"));
    set.add_stix(
        "bundle.json",
        include_str!("../test_data/indicators/bundle.json"),
    );
    set.add_misp(
        "misp.json",
        include_str!("../test_data/indicators/misp.json"),
    );
    set
}

fn hits(set: &IndicatorSet, document: serde_json::Value) -> Vec<(String, String, String)> {
    let at: jiff::Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
    let mut out = Vec::new();
    set.matches(&sample_event(&document, at), at, &mut out);
    out.into_iter()
        .map(|h| {
            let indicator = &set.indicators()[h.indicator as usize];
            (
                h.field,
                indicator.value.clone(),
                indicator.provenance.feed.clone(),
            )
        })
        .collect()
}

#[test]
fn feeds_load_and_bad_entries_are_named() {
    let set = set();
    let problems: Vec<String> = set.problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "feed.csv: rule line 9: parse: `not-an-ip` is not an IP address or network",
            "feed.csv: rule line 10: parse: `ftp//no-scheme` is not a URL (no scheme)",
            "feed.csv: rule line 11: parse: type `hash`: expected ip, cidr, domain, url, md5, sha1, sha256 or email",
            "bundle.json: rule indicator--0f0e0d0c-0b0a-4908-8706-050403020100: parse: pattern `[ipv4-addr:value = '10.0.0.1' AND network-traffic:dst_port = 443]`: AND needs several values at once, which an indicator set cannot say",
        ]
    );
    // 6 good CSV lines, 3 STIX values, 3 MISP values (the context-only attribute is not for detection).
    assert_eq!(set.len(), 12);
    let kinds: Vec<IndicatorKind> = set.indicators().iter().map(|i| i.kind).collect();
    assert!(kinds.contains(&IndicatorKind::Md5) && kinds.contains(&IndicatorKind::Email));
}

#[test]
fn events_match_with_provenance() {
    let set = set();
    assert_eq!(
        hits(
            &set,
            serde_json::json!({"source": {"ip": "203.0.113.7"}, "destination": {"ip": "198.51.100.200"}})
        ),
        [
            ("source.ip".into(), "203.0.113.7".into(), "feed.csv".into()),
            (
                "destination.ip".into(),
                "198.51.100.0/24".into(),
                "feed.csv".into()
            ),
        ]
    );
    // A subdomain of an indicator domain matches; a look-alike does not.
    assert_eq!(
        hits(
            &set,
            serde_json::json!({"dns": {"question": {"name": "a.b.EVIL.example."}}})
        )
        .len(),
        1
    );
    assert!(
        hits(
            &set,
            serde_json::json!({"dns": {"question": {"name": "notevil.example"}}})
        )
        .is_empty()
    );
    // Sysmon's Hashes field, case-insensitively.
    assert_eq!(
        hits(&set, serde_json::json!({"winlog": {"event_data": {"Hashes": "SHA1=00,MD5=D41D8CD98F00B204E9800998ECF8427E,SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}}))
            .into_iter()
            .map(|(_, _, feed)| feed)
            .collect::<Vec<_>>(),
        ["misp.json", "feed.csv"]
    );
    assert_eq!(
        hits(
            &set,
            serde_json::json!({"email": {"from": {"address": "phisher@evil.example"}}})
        )
        .len(),
        1
    );
    assert_eq!(
        hits(
            &set,
            serde_json::json!({"winlog": {"event_data": {"QueryName": "c2.example"}}})
        )[0]
        .2,
        "bundle.json"
    );
    // Expired indicators no longer match; context-only MISP attributes never did.
    assert!(hits(&set, serde_json::json!({"source": {"ip": "192.0.2.1"}})).is_empty());
    assert!(hits(&set, serde_json::json!({"source": {"ip": "198.18.0.6"}})).is_empty());
    assert_eq!(
        hits(
            &set,
            serde_json::json!({"destination": {"ip": "198.18.0.5"}})
        )
        .len(),
        1
    );

    let at: jiff::Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
    let mut out = Vec::new();
    set.matches(
        &sample_event(&serde_json::json!({"source": {"ip": "203.0.113.99"}}), at),
        at,
        &mut out,
    );
    let provenance = &set.indicators()[out[0].indicator as usize].provenance;
    assert_eq!(
        provenance.reference,
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    );
    assert_eq!(
        provenance.description.as_deref(),
        Some("C2 of the campaign")
    );
    assert_eq!(provenance.confidence, Some(85));
    assert_eq!(provenance.tags, ["malicious-activity"]);
}

mod properties {
    use kuzet_detect::{IndicatorKind, IndicatorSet, Provenance, sample_event};
    use proptest::prelude::*;

    fn matched(set: &IndicatorSet, document: serde_json::Value) -> bool {
        let at = jiff::Timestamp::UNIX_EPOCH;
        let mut out = Vec::new();
        set.matches(&sample_event(&document, at), at, &mut out);
        !out.is_empty()
    }

    proptest! {
        /// An address matches a loaded network exactly when the network contains it.
        #[test]
        fn networks_match_what_they_contain(net in any::<u32>(), len in 8u8..=32, ip in any::<u32>()) {
            let network = ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(net), len).unwrap().trunc();
            let mut set = IndicatorSet::new();
            set.add(IndicatorKind::Ip, &network.to_string(), Provenance::default());
            let address = std::net::Ipv4Addr::from(ip);
            let document = serde_json::json!({"source": {"ip": address.to_string()}});
            prop_assert_eq!(matched(&set, document), network.contains(&address));
        }

        /// A domain matches itself and every subdomain, and nothing that only ends with the same letters.
        #[test]
        fn domains_match_their_subdomains(
            labels in prop::collection::vec("[a-z0-9]{1,8}", 2..4),
            prefix in prop::collection::vec("[a-z0-9]{1,8}", 0..3),
            glued in "[a-z0-9]{1,8}",
        ) {
            let domain = labels.join(".");
            let mut set = IndicatorSet::new();
            set.add(IndicatorKind::Domain, &domain, Provenance::default());
            let mut name = prefix.clone();
            name.push(domain.clone());
            let document = serde_json::json!({"dns": {"question": {"name": name.join(".")}}});
            prop_assert!(matched(&set, document));
            let lookalike = format!("{glued}{domain}");
            let document = serde_json::json!({"dns": {"question": {"name": lookalike}}});
            prop_assert!(!matched(&set, document));
        }
    }
}

#[test]
fn stix_markings_become_tags_and_quoted_values_are_read_whole() {
    let mut set = IndicatorSet::new();
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "id": "indicator--1", "pattern_type": "stix",
         "pattern": "[url:value = 'http://x.example/a]b\\'c'] OR [domain-name:value = 'қазақ.example']",
         "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]},
        {"type": "indicator", "id": "indicator--2", "pattern_type": "stix",
         "pattern": "[domain-name:value = 'tagged.example']", "labels": ["tlp:red"],
         "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]},
        {"type": "indicator", "id": "indicator--3", "pattern_type": "stix",
         "pattern": "[domain-name:value = 'x.example'] ÖR [url:value = 'y']"},
    ]});
    set.add_stix("b.json", &bundle.to_string());
    let read: Vec<(&str, Vec<String>)> = set
        .indicators()
        .iter()
        .map(|i| (i.value.as_str(), i.provenance.tags.clone()))
        .collect();
    assert_eq!(
        read[0],
        ("http://x.example/a]b'c", vec!["tlp:amber".to_owned()])
    );
    assert_eq!(read[1].1, ["tlp:amber"]);
    // A `tlp:` label says more than the marking: it is kept as it is.
    assert_eq!(read[2], ("tagged.example", vec!["tlp:red".to_owned()]));
    assert_eq!(set.problems().len(), 1, "{:?}", set.problems());
    assert!(set.problems()[0].reason.contains("joined by OR"));
}

#[test]
fn a_feed_read_again_keeps_the_time_of_what_it_still_holds() {
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
    let read = |text: &str| {
        let mut set = IndicatorSet::new();
        set.add_csv("feed.csv", text);
        set
    };
    let shared = kuzet_detect::SharedIndicators::new(
        read("type,value\nip,203.0.113.7\n"),
        at("2026-12-01T00:00:00Z"),
    );
    let before = shared.load();
    shared.replace(
        read("type,value\nip,203.0.113.7\ndomain,new.example\n"),
        at("2026-12-07T00:00:00Z"),
    );
    let after = shared.load();
    assert_eq!(after.len(), 2);
    assert_eq!(after.added(0), at("2026-12-01T00:00:00Z"), "kept");
    assert_eq!(after.added(1), at("2026-12-07T00:00:00Z"), "new");
    // What a reader held before stays as it was.
    assert_eq!(before.len(), 1);
}
