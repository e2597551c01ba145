//! STIX 2.1 objects Kuzet shares (`docs/formats/taxii.md`): indicators, sightings of them in a tenant's
//! events, vulnerabilities of the advisories that concerned it, the identities they name — each marked with its
//! TLP level, so that an export never carries an object further than its marking allows.
//!
//! Ids are derived (UUID v5) from what an object is about: exporting twice gives the same ids, and a consumer
//! that polls again updates instead of duplicating. An indicator read from a STIX feed keeps its own id, so a
//! sighting points at the object its producer knows. Pure: the caller gives the times.

use jiff::Timestamp;
use kuzet_detect::{Indicator, IndicatorKind};
pub use kuzet_model::Tlp;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The namespace of Kuzet's derived STIX ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x6b75_7a65_742d_5354_4958_2d32_2e31_0001);

/// STIX 2.1's predefined marking definition for a TLP level, exactly as the specification writes it.
pub fn marking_definition(tlp: Tlp) -> StixObject {
    let legacy = match tlp {
        Tlp::Clear => "white",
        other => other.as_str(),
    };
    StixObject {
        id: tlp.marking_id().to_owned(),
        tlp: Tlp::Clear,
        // The predefined objects are older than anything Kuzet adds: first in every collection.
        added: Timestamp::UNIX_EPOCH,
        body: json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": tlp.marking_id(),
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp",
            "name": format!("TLP:{}", legacy.to_ascii_uppercase()),
            "definition": {"tlp": legacy},
        }),
    }
}

/// One STIX object with what sharing needs to know about it: its TLP level and when Kuzet added it (a TAXII
/// collection's `date_added`).
#[derive(Debug, Clone, PartialEq)]
pub struct StixObject {
    pub id: String,
    pub tlp: Tlp,
    pub added: Timestamp,
    /// The object as STIX 2.1 JSON, `object_marking_refs` included.
    pub body: Value,
}

impl StixObject {
    /// The object's STIX type (`indicator`, `sighting`, …): the part of its id before `--`.
    pub fn kind(&self) -> &str {
        self.id.split_once("--").map_or(&self.id, |(kind, _)| kind)
    }

    /// Its version: `modified`, or `created` for objects that are never modified (marking definitions).
    pub fn version(&self) -> &str {
        self.body
            .get("modified")
            .or_else(|| self.body.get("created"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// A STIX timestamp: RFC 3339 in UTC with milliseconds, as STIX producers write them.
pub fn timestamp(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A derived id: `type--` and a UUID v5 of what the object is about.
pub fn derived_id(kind: &str, about: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&NAMESPACE, format!("{kind}\u{1f}{about}").as_bytes())
    )
}

/// The identity of an organization (the ISOC that produces, a tenant where something was sighted).
pub fn identity(key: &str, name: &str, created: Timestamp, tlp: Tlp) -> StixObject {
    let id = derived_id("identity", key);
    let at = timestamp(created);
    StixObject {
        body: json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": id,
            "created": at,
            "modified": at,
            "name": name,
            "identity_class": "organization",
            "object_marking_refs": [tlp.marking_id()],
        }),
        id,
        tlp,
        added: created,
    }
}

/// The level of what an organization's own records say (sightings, advisories) when nothing marks them
/// narrower: TLP:AMBER, the organization and those it works with.
pub const OWN_LEVEL: Tlp = Tlp::Amber;

/// The identity of the ISOC `party` (as the hub knows it): the producer of what it shares, TLP:CLEAR.
pub fn isoc_identity(party: &str) -> StixObject {
    identity(
        &format!("isoc:{party}"),
        party,
        Timestamp::UNIX_EPOCH,
        Tlp::Clear,
    )
}

/// The identity of an organization an ISOC serves, where its sightings were made (TLP:AMBER).
pub fn tenant_identity(party: &str, tenant: &str, name: &str, created: Timestamp) -> StixObject {
    identity(
        &format!("tenant:{party}:{tenant}"),
        name,
        created,
        OWN_LEVEL,
    )
}

/// What makes a sighting one object wherever it is described (the TAXII collections, the report to NCCIS): the
/// ISOC, the organization, the indicator, the host it was seen on and when it was first seen.
pub fn sighting_key(
    party: &str,
    tenant: &str,
    indicator: &str,
    host: &str,
    first: Timestamp,
) -> String {
    format!(
        "{party}\u{1f}{tenant}\u{1f}{indicator}\u{1f}{host}\u{1f}{}",
        first.as_millisecond()
    )
}

/// What an ISOC tells NCCIS when an indicator is first seen at one of its organizations.
#[derive(Debug, Clone, PartialEq)]
pub struct SightingReport<'a> {
    pub indicator: &'a Indicator,
    /// The ISOC, as the hub knows it.
    pub party: &'a str,
    pub tenant: &'a str,
    pub tenant_name: &'a str,
    /// What makes the sighting one object: its [`sighting_key`].
    pub key: &'a str,
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    pub recorded: Timestamp,
    pub description: Option<&'a str>,
}

/// The bundle of a [`SightingReport`]: the sighting, the indicator it is of, who saw it and where, and the
/// markings they use. `None` for an indicator marked TLP:RED: it does not leave the ISOC.
pub fn sighting_report(report: &SightingReport<'_>) -> Option<Value> {
    let level = indicator_tlp(report.indicator, OWN_LEVEL);
    if level == Tlp::Red {
        return None;
    }
    let isoc = isoc_identity(report.party);
    let place = tenant_identity(
        report.party,
        report.tenant,
        report.tenant_name,
        report.recorded,
    );
    let of = indicator(report.indicator, &isoc.id, report.recorded, level);
    let seen = sighting(
        &Sighting {
            key: report.key,
            indicator: &of.id,
            creator: &isoc.id,
            at: &place.id,
            count: report.count,
            first: report.first,
            last: report.last,
            created: report.recorded,
            modified: report.recorded,
            description: report.description,
        },
        level.max(OWN_LEVEL),
    );
    let objects = [isoc, place, of, seen];
    Some(bundle(&shareable(&objects, Tlp::Amber)))
}

/// A STIX patterning string literal: `'` and `\` escaped.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The STIX pattern that matches what an indicator of this kind matches.
pub fn pattern(kind: IndicatorKind, value: &str) -> String {
    let path = match kind {
        IndicatorKind::Ip if value.contains(':') => "ipv6-addr:value",
        IndicatorKind::Ip => "ipv4-addr:value",
        IndicatorKind::Domain => "domain-name:value",
        IndicatorKind::Url => "url:value",
        IndicatorKind::Md5 => "file:hashes.MD5",
        IndicatorKind::Sha1 => "file:hashes.'SHA-1'",
        IndicatorKind::Sha256 => "file:hashes.'SHA-256'",
        IndicatorKind::Email => "email-addr:value",
    };
    format!("[{path} = {}]", literal(value))
}

/// The id a sighting of this indicator points at: the feed's own STIX id when it came from one, else one
/// derived from its kind and value.
pub fn indicator_id(indicator: &Indicator) -> String {
    let reference = indicator.provenance.reference.as_str();
    match reference.strip_prefix("indicator--") {
        Some(uuid) if Uuid::parse_str(uuid).is_ok() => reference.to_owned(),
        _ => derived_id(
            "indicator",
            &format!("{}:{}", indicator.kind.as_str(), indicator.value),
        ),
    }
}

/// The TLP level an indicator carries (its feed's marking or `tlp:` tag), or `default` when it carries none.
pub fn indicator_tlp(indicator: &Indicator, default: Tlp) -> Tlp {
    Tlp::from_tags(indicator.provenance.tags.iter().map(String::as_str)).unwrap_or(default)
}

/// An indicator as a STIX 2.1 `indicator`, produced by `creator` (an identity id), marked `tlp`. An indicator
/// read from a STIX feed keeps its id; `added` is when this ISOC loaded it.
pub fn indicator(indicator: &Indicator, creator: &str, added: Timestamp, tlp: Tlp) -> StixObject {
    let id = indicator_id(indicator);
    let at = timestamp(added);
    let provenance = &indicator.provenance;
    let mut body = Map::new();
    body.insert("type".into(), json!("indicator"));
    body.insert("spec_version".into(), json!("2.1"));
    body.insert("id".into(), json!(id));
    body.insert("created_by_ref".into(), json!(creator));
    body.insert("created".into(), json!(at));
    body.insert("modified".into(), json!(at));
    body.insert(
        "name".into(),
        json!(provenance.description.clone().unwrap_or_else(|| format!(
            "{} {}",
            indicator.kind.as_str(),
            indicator.value
        ))),
    );
    body.insert("indicator_types".into(), json!(["malicious-activity"]));
    body.insert(
        "pattern".into(),
        json!(pattern(indicator.kind, &indicator.value)),
    );
    body.insert("pattern_type".into(), json!("stix"));
    body.insert("valid_from".into(), json!(at));
    if let Some(until) = provenance.valid_until {
        // STIX requires valid_until after valid_from: an indicator already expired is still described as such.
        body.insert("valid_until".into(), json!(timestamp(until.max(added))));
    }
    if let Some(confidence) = provenance.confidence {
        body.insert("confidence".into(), json!(confidence.min(100)));
    }
    let labels: Vec<&String> = provenance
        .tags
        .iter()
        .filter(|t| Tlp::parse(t).is_none())
        .collect();
    if !labels.is_empty() {
        body.insert("labels".into(), json!(labels));
    }
    body.insert(
        "external_references".into(),
        json!([{"source_name": provenance.feed, "external_id": provenance.reference}]),
    );
    body.insert("object_marking_refs".into(), json!([tlp.marking_id()]));
    StixObject {
        id,
        tlp,
        added,
        body: Value::Object(body),
    }
}

/// What a sighting says: an indicator seen `count` times between `first` and `last` at an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting<'a> {
    /// What makes it one object wherever it is described: its [`sighting_key`].
    pub key: &'a str,
    pub indicator: &'a str,
    pub creator: &'a str,
    /// The identity of the organization where it was seen.
    pub at: &'a str,
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// When it was recorded (and last updated).
    pub created: Timestamp,
    pub modified: Timestamp,
    pub description: Option<&'a str>,
}

/// A sighting as a STIX 2.1 `sighting`, marked `tlp`.
pub fn sighting(sighting: &Sighting<'_>, tlp: Tlp) -> StixObject {
    let id = derived_id("sighting", sighting.key);
    let mut body = json!({
        "type": "sighting",
        "spec_version": "2.1",
        "id": id,
        "created_by_ref": sighting.creator,
        "created": timestamp(sighting.created),
        "modified": timestamp(sighting.modified.max(sighting.created)),
        "sighting_of_ref": sighting.indicator,
        "where_sighted_refs": [sighting.at],
        // STIX bounds count at 999,999,999.
        "count": sighting.count.min(999_999_999),
        "first_seen": timestamp(sighting.first),
        "last_seen": timestamp(sighting.last.max(sighting.first)),
        "object_marking_refs": [tlp.marking_id()],
    });
    if let (Some(text), Some(map)) = (sighting.description, body.as_object_mut()) {
        map.insert("description".into(), json!(text));
    }
    StixObject {
        id,
        tlp,
        added: sighting.created,
        body,
    }
}

/// What a vulnerability says: a CVE (or an advisory without one) and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Vulnerability<'a> {
    /// The CVE id, or the advisory's own reference when it names none.
    pub name: &'a str,
    pub cve: Option<&'a str>,
    pub description: &'a str,
    pub creator: &'a str,
    pub created: Timestamp,
    /// Where it was published (URLs).
    pub references: &'a [String],
}

/// A vulnerability as a STIX 2.1 `vulnerability`, marked `tlp`. Its id is derived from the CVE, so advisories
/// that name the same CVE describe one object.
pub fn vulnerability(vulnerability: &Vulnerability<'_>, tlp: Tlp) -> StixObject {
    let id = derived_id(
        "vulnerability",
        vulnerability.cve.unwrap_or(vulnerability.name),
    );
    let at = timestamp(vulnerability.created);
    let mut references = Vec::new();
    if let Some(cve) = vulnerability.cve {
        references.push(json!({"source_name": "cve", "external_id": cve}));
    }
    for url in vulnerability.references {
        references.push(json!({"source_name": "advisory", "url": url}));
    }
    let mut body = json!({
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": id,
        "created_by_ref": vulnerability.creator,
        "created": at,
        "modified": at,
        "name": vulnerability.name,
        "description": vulnerability.description,
        "object_marking_refs": [tlp.marking_id()],
    });
    if let (false, Some(map)) = (references.is_empty(), body.as_object_mut()) {
        map.insert("external_references".into(), Value::Array(references));
    }
    StixObject {
        id,
        tlp,
        added: vulnerability.created,
        body,
    }
}

/// A STIX 2.1 bundle of the objects (its id derived from theirs).
pub fn bundle<'a>(objects: impl IntoIterator<Item = &'a StixObject>) -> Value {
    let objects: Vec<&Value> = objects.into_iter().map(|o| &o.body).collect();
    let ids: Vec<&str> = objects
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str))
        .collect();
    json!({
        "type": "bundle",
        "id": derived_id("bundle", &ids.join(" ")),
        "objects": objects,
    })
}

/// The objects that may be shared at `level`: those marked at that level or wider, with the marking definitions
/// they use. Nothing marked narrower passes.
pub fn shareable(objects: &[StixObject], level: Tlp) -> Vec<StixObject> {
    let mut out: Vec<StixObject> = Tlp::ALL
        .into_iter()
        .filter(|t| *t <= level && objects.iter().any(|o| o.tlp == *t))
        .map(marking_definition)
        .collect();
    out.extend(objects.iter().filter(|o| o.tlp <= level).cloned());
    out
}

#[cfg(test)]
mod tests {
    use kuzet_detect::{IndicatorSet, Provenance};
    use proptest::prelude::*;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn one(kind: IndicatorKind, value: &str, tags: &[&str]) -> Indicator {
        let mut set = IndicatorSet::new();
        set.add(
            kind,
            value,
            Provenance {
                feed: "feed.csv".into(),
                reference: "line 2".into(),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                ..Provenance::default()
            },
        );
        set.indicators()[0].clone()
    }

    #[test]
    fn an_indicator_exported_reads_back_the_same() {
        let added = at("2026-12-07T10:00:00Z");
        for (kind, value) in [
            (IndicatorKind::Ip, "203.0.113.7"),
            (IndicatorKind::Ip, "198.51.100.0/24"),
            (IndicatorKind::Ip, "2001:db8::/32"),
            (IndicatorKind::Domain, "evil.example"),
            (IndicatorKind::Url, "http://evil.example/a'b\\c"),
            (IndicatorKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (
                IndicatorKind::Sha1,
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            ),
            (
                IndicatorKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (IndicatorKind::Email, "phish@evil.example"),
        ] {
            let source = one(kind, value, &["tlp:green", "apt"]);
            let object = indicator(&source, "identity--x", added, Tlp::Green);
            let mut back = IndicatorSet::new();
            back.add_stix("export", &bundle([&object]).to_string());
            assert!(back.problems().is_empty(), "{value}: {:?}", back.problems());
            assert_eq!(back.indicators().len(), 1, "{value}");
            assert_eq!(back.indicators()[0].kind, kind, "{value}");
            assert_eq!(back.indicators()[0].value, source.value, "{value}");
            assert_eq!(object.body["labels"], json!(["apt"]));
            assert_eq!(
                object.body["object_marking_refs"],
                json!([Tlp::Green.marking_id()])
            );
        }
    }

    #[test]
    fn ids_are_stable_and_keep_a_feeds_own() {
        let a = one(IndicatorKind::Domain, "evil.example", &[]);
        assert_eq!(indicator_id(&a), indicator_id(&a.clone()));
        assert!(indicator_id(&a).starts_with("indicator--"));
        let mut from_stix = a.clone();
        from_stix.provenance.reference = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into();
        assert_eq!(
            indicator_id(&from_stix),
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
        );
        assert_ne!(derived_id("sighting", "a"), derived_id("sighting", "b"));
    }

    #[test]
    fn nothing_narrower_than_the_level_is_shared() {
        let added = at("2026-12-07T10:00:00Z");
        let objects: Vec<StixObject> = Tlp::ALL
            .into_iter()
            .map(|tlp| {
                let source = one(
                    IndicatorKind::Domain,
                    &format!("{}.example", tlp.as_str()),
                    &[],
                );
                indicator(&source, "identity--x", added, tlp)
            })
            .collect();
        let green = shareable(&objects, Tlp::Green);
        let kinds: Vec<&str> = green.iter().map(StixObject::kind).collect();
        assert_eq!(
            kinds,
            [
                "marking-definition",
                "marking-definition",
                "indicator",
                "indicator"
            ]
        );
        assert!(green.iter().all(|o| o.tlp <= Tlp::Green));
        assert_eq!(shareable(&objects, Tlp::Red).len(), 8);
    }

    #[test]
    fn a_sighting_report_carries_what_names_it_and_never_a_red_indicator() {
        let at = at("2026-12-07T09:00:00Z");
        let report = |indicator: &Indicator| {
            sighting_report(&SightingReport {
                indicator,
                party: "isoc-alatau",
                tenant: "akimat",
                tenant_name: "Akimat",
                key: "akimat:1",
                count: 2,
                first: at,
                last: at,
                recorded: at,
                description: None,
            })
        };
        let green = one(IndicatorKind::Domain, "evil.example", &["tlp:green"]);
        let bundle = report(&green).expect("a green indicator is reported");
        let objects = bundle["objects"].as_array().expect("objects");
        let kinds: Vec<&str> = objects.iter().filter_map(|o| o["type"].as_str()).collect();
        assert_eq!(
            kinds,
            [
                "marking-definition",
                "marking-definition",
                "marking-definition",
                "identity",
                "identity",
                "indicator",
                "sighting"
            ]
        );
        let sighting = objects
            .iter()
            .find(|o| o["type"] == "sighting")
            .expect("sighting");
        assert_eq!(sighting["sighting_of_ref"], json!(indicator_id(&green)));
        assert_eq!(
            sighting["object_marking_refs"],
            json!([Tlp::Amber.marking_id()])
        );
        assert!(report(&one(IndicatorKind::Domain, "x.example", &["tlp:red"])).is_none());
    }

    #[test]
    fn sightings_and_vulnerabilities_are_well_formed() {
        let s = sighting(
            &Sighting {
                key: "tenant-a alert 1",
                indicator: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                creator: "identity--isoc",
                at: "identity--tenant",
                count: 3,
                first: at("2026-12-07T09:00:00Z"),
                last: at("2026-12-07T09:30:00Z"),
                created: at("2026-12-07T09:00:01Z"),
                modified: at("2026-12-07T09:30:01Z"),
                description: None,
            },
            Tlp::Amber,
        );
        assert_eq!(s.kind(), "sighting");
        assert_eq!(s.body["count"], 3);
        assert_eq!(s.body["first_seen"], "2026-12-07T09:00:00.000Z");
        assert_eq!(s.version(), "2026-12-07T09:30:01.000Z");
        let v = vulnerability(
            &Vulnerability {
                name: "CVE-2026-0001",
                cve: Some("CVE-2026-0001"),
                description: "update",
                creator: "identity--isoc",
                created: at("2026-12-07T09:00:00Z"),
                references: &["https://cert.example/a".to_owned()],
            },
            Tlp::Green,
        );
        assert_eq!(
            v.body["external_references"][0]["external_id"],
            "CVE-2026-0001"
        );
        assert_eq!(v.id, derived_id("vulnerability", "CVE-2026-0001"));
    }

    proptest! {
        /// Whatever a value holds, its pattern reads back as that value.
        #[test]
        fn any_url_round_trips(value in "http://[a-z]{1,8}\\.example/[ -~]{0,40}") {
            let source = one(IndicatorKind::Url, &value, &[]);
            let object = indicator(&source, "identity--x", Timestamp::UNIX_EPOCH, Tlp::Clear);
            let mut back = IndicatorSet::new();
            back.add_stix("export", &bundle([&object]).to_string());
            prop_assert!(back.problems().is_empty(), "{:?}", back.problems());
            prop_assert_eq!(&back.indicators()[0].value, &source.value);
        }
    }
}
