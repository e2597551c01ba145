//! Which of a tenant's assets an event or an incident concerns (R24): the host names and addresses it carries,
//! matched against the inventory. Pure: the caller hands the event (or what an incident's alerts name) and the
//! assets.

use std::net::IpAddr;

use kuzet_model::{Event, Value, fields};
use serde::Serialize;

use crate::advisory::Asset;

/// What kind of value names an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// A host name, matched against the asset's name.
    Host,
    /// An IP address, matched against the asset's addresses and networks.
    Address,
}

impl Seen {
    pub fn as_str(self) -> &'static str {
        match self {
            Seen::Host => "host",
            Seen::Address => "address",
        }
    }
}

/// A value an event or an incident carries, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Observed {
    pub seen: Seen,
    /// The event field (`source.ip`), or what else named it (`alert 0f3c…: host`).
    pub field: String,
    pub value: String,
}

impl Observed {
    pub fn host(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            seen: Seen::Host,
            field: field.into(),
            value: value.into(),
        }
    }

    pub fn address(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            seen: Seen::Address,
            field: field.into(),
            value: value.into(),
        }
    }
}

/// One asset a value names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AssetLink {
    /// The asset's id.
    pub asset: String,
    pub seen: Seen,
    pub field: String,
    pub value: String,
}

/// The event fields that name a host: the host the event is about or came from, and the observer.
pub const HOST_FIELDS: [&str; 5] = [
    fields::HOST_NAME,
    fields::HOST_HOSTNAME,
    fields::WINLOG_COMPUTER_NAME,
    fields::LOG_SYSLOG_HOSTNAME,
    fields::OBSERVER_HOSTNAME,
];

/// The event fields that carry an address of a party to the event (ECS, and Windows' logon address).
pub const ADDRESS_FIELDS: [&str; 8] = [
    fields::HOST_IP,
    fields::SOURCE_IP,
    fields::DESTINATION_IP,
    "client.ip",
    "server.ip",
    "observer.ip",
    "related.ip",
    "winlog.event_data.IpAddress",
];

/// The host names and addresses `event` carries, each field's values in order (an array field gives each
/// element); empty values and `-` (Windows' "none") are left out.
pub fn observed_in(event: &Event) -> Vec<Observed> {
    let mut out = Vec::new();
    for (fields, seen) in [
        (&HOST_FIELDS[..], Seen::Host),
        (&ADDRESS_FIELDS[..], Seen::Address),
    ] {
        for field in fields {
            let Some(value) = event.fields.get(field) else {
                continue;
            };
            each_str(value, &mut |text| {
                let text = text.trim();
                if !text.is_empty() && text != "-" {
                    out.push(Observed {
                        seen,
                        field: (*field).to_owned(),
                        value: text.to_owned(),
                    });
                }
            });
        }
    }
    out
}

fn each_str(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::Str(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| each_str(v, f)),
        _ => {}
    }
}

/// The assets `observed` names, in the order of `observed` then of `assets`, each (asset, kind, value) once,
/// named by the first field that carries the value (`host.name` before `log.syslog.hostname`). A
/// host name matches an asset's name without regard to case or a trailing dot, and a short name matches the
/// fully qualified one it begins (`ws-07` and `ws-07.akimat.local`); an address matches an asset that lists it
/// or a network holding it (IPv4-mapped IPv6 addresses as IPv4). A value that is not an address is no address.
pub fn link_assets(observed: &[Observed], assets: &[Asset]) -> Vec<AssetLink> {
    let mut out: Vec<AssetLink> = Vec::new();
    for seen in observed {
        let matches = |asset: &Asset| match seen.seen {
            Seen::Host => same_host(&asset.name, &seen.value),
            Seen::Address => address(&seen.value)
                .is_some_and(|ip| asset.addresses.iter().any(|net| net.contains(&ip))),
        };
        for asset in assets.iter().filter(|a| matches(a)) {
            let link = AssetLink {
                asset: asset.id.clone(),
                seen: seen.seen,
                field: seen.field.clone(),
                value: seen.value.clone(),
            };
            let known = out
                .iter()
                .any(|l| l.asset == link.asset && l.seen == link.seen && l.value == link.value);
            if !known {
                out.push(link);
            }
        }
    }
    out
}

/// Whether two host names name the same host.
pub fn same_host(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_lowercase();
    let (a, b) = (norm(a), norm(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    // A short name against a qualified one: the qualified one's first label.
    let first = |s: &str| s.split('.').next().unwrap_or_default().to_owned();
    match (a.contains('.'), b.contains('.')) {
        (false, true) => first(&b) == a,
        (true, false) => first(&a) == b,
        _ => false,
    }
}

/// An address, as events write it: plain, bracketed, or IPv4-mapped IPv6.
fn address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = text.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn asset(id: &str, name: &str, addresses: &[&str]) -> Asset {
        Asset {
            id: id.into(),
            name: name.into(),
            product: None,
            version: None,
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    fn inventory() -> Vec<Asset> {
        vec![
            asset("a1", "ws-07.akimat.local", &["10.1.2.7/32"]),
            asset("a2", "dc01", &["10.1.0.0/24"]),
            asset("a3", "web", &["2001:db8::/64"]),
        ]
    }

    #[test]
    fn host_names_match_short_and_qualified() {
        assert!(same_host("WS-07", "ws-07.akimat.local."));
        assert!(same_host("dc01.akimat.local", "DC01"));
        assert!(!same_host("dc01.akimat.local", "dc01.other.local"));
        assert!(!same_host("dc0", "dc01"));
        assert!(!same_host("", ""));
    }

    #[test]
    fn events_link_by_host_and_address() {
        let mut event = Event::new(
            kuzet_model::EventId::from_u128(1),
            kuzet_model::TenantId::new("akimat").unwrap(),
            kuzet_model::SourceId::new("dc").unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
            b"x".to_vec(),
        );
        event
            .fields
            .insert(fields::WINLOG_COMPUTER_NAME, "DC01.akimat.local");
        event.fields.insert(fields::SOURCE_IP, "::ffff:10.1.2.7");
        event.fields.insert(
            "related.ip",
            Value::Array(vec!["10.1.0.9".into(), "2001:db8::5".into(), "-".into()]),
        );
        event.fields.insert("winlog.event_data.IpAddress", "-");
        let observed = observed_in(&event);
        assert_eq!(observed.len(), 4, "{observed:?}");
        let links = link_assets(&observed, &inventory());
        let found: Vec<(&str, &str)> = links
            .iter()
            .map(|l| (l.asset.as_str(), l.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("a2", "winlog.computer_name"),
                ("a1", "source.ip"),
                ("a2", "related.ip"),
                ("a3", "related.ip")
            ]
        );
    }

    #[test]
    fn nothing_links_nothing() {
        let observed = [
            Observed::address("source.ip", "not an address"),
            Observed::address("source.ip", "192.0.2.1"),
            Observed::host("host.name", "laptop"),
        ];
        assert!(link_assets(&observed, &inventory()).is_empty());
        assert!(link_assets(&observed, &[]).is_empty());
    }

    proptest! {
        /// Every link names an observed value and an asset that exist, each link once; adding assets never loses
        /// a link.
        #[test]
        fn links_are_sound(
            values in prop::collection::vec(("[a-c]{1,3}(\\.[a-c]{1,2})?", 0u8..4), 0..8),
            names in prop::collection::vec("[a-cA-C]{1,3}(\\.[a-c]{1,2})?", 0..6),
        ) {
            let observed: Vec<Observed> = values
                .iter()
                .map(|(v, last)| if v.len() % 2 == 0 {
                    Observed::host("host.name", v.clone())
                } else {
                    Observed::address("source.ip", format!("10.0.0.{last}"))
                })
                .collect();
            let assets: Vec<Asset> = names
                .iter()
                .enumerate()
                .map(|(i, n)| asset(&format!("a{i}"), n, &["10.0.0.0/31"]))
                .collect();
            let links = link_assets(&observed, &assets);
            for (i, link) in links.iter().enumerate() {
                prop_assert!(assets.iter().any(|a| a.id == link.asset));
                prop_assert!(observed.iter().any(|o| o.value == link.value && o.field == link.field));
                prop_assert!(!links[..i].iter().any(|l| l.asset == link.asset && l.value == link.value && l.seen == link.seen));
            }
            let fewer = link_assets(&observed, &assets[..assets.len() / 2]);
            for link in fewer {
                prop_assert!(links.contains(&link));
            }
            // The same value in a second field adds nothing.
            let twice: Vec<Observed> = observed
                .iter()
                .flat_map(|o| [o.clone(), Observed { field: format!("{}.again", o.field), ..o.clone() }])
                .collect();
            prop_assert_eq!(link_assets(&twice, &assets), links);
        }
    }
}
