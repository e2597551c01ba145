//! Observables of an incident: the addresses, domains, URLs, hashes, mailboxes, hosts, accounts and files it
//! involves, as an analyst records them (TheHive's and MISP's kinds, the ones a KZ-CERT report names). Each is
//! checked and written one way, so that the same indicator typed twice is one observable and matches what
//! detection and the asset inventory see.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::CasesError;

/// What an observable is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservableKind {
    /// An IP address or network.
    Ip,
    Domain,
    Url,
    /// MD5, SHA-1, SHA-256 or SHA-512, in hexadecimal.
    Hash,
    Email,
    /// A host name.
    Host,
    /// A user or service account (`DOMAIN\user` or `user@realm` as the system wrote it).
    Account,
    /// A file name or path.
    File,
}

impl ObservableKind {
    pub const ALL: [ObservableKind; 8] = [
        ObservableKind::Ip,
        ObservableKind::Domain,
        ObservableKind::Url,
        ObservableKind::Hash,
        ObservableKind::Email,
        ObservableKind::Host,
        ObservableKind::Account,
        ObservableKind::File,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ObservableKind::Ip => "ip",
            ObservableKind::Domain => "domain",
            ObservableKind::Url => "url",
            ObservableKind::Hash => "hash",
            ObservableKind::Email => "email",
            ObservableKind::Host => "host",
            ObservableKind::Account => "account",
            ObservableKind::File => "file",
        }
    }

    pub fn parse(text: &str) -> Result<Self, CasesError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| CasesError::Observable {
                kind: text.to_owned(),
                value: String::new(),
                reason: format!(
                    "unknown kind; expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ),
            })
    }
}

/// The longest value kept (a URL with its query).
pub const MAX_OBSERVABLE_CHARS: usize = 2048;

/// A checked observable in its one written form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Observable {
    pub kind: ObservableKind,
    pub value: String,
}

impl Observable {
    /// Checks `value` as a `kind` and writes it one way: addresses canonical (a network as its network), domains,
    /// hosts, hashes and mail domains lower-cased without a trailing dot; URLs, accounts and files as given,
    /// trimmed. The error names the kind, the value and what is wrong.
    pub fn parse(kind: ObservableKind, value: &str) -> Result<Self, CasesError> {
        let fail = |reason: &str| CasesError::Observable {
            kind: kind.as_str().to_owned(),
            value: value.chars().take(80).collect(),
            reason: reason.to_owned(),
        };
        let text = value.trim();
        if text.is_empty() {
            return Err(fail("empty"));
        }
        if text.chars().count() > MAX_OBSERVABLE_CHARS {
            return Err(fail("longer than 2048 characters"));
        }
        if text.chars().any(char::is_control) {
            return Err(fail("contains a control character"));
        }
        let no_space = |t: &str| {
            if t.chars().any(char::is_whitespace) {
                Err(fail("contains a space"))
            } else {
                Ok(())
            }
        };
        let value = match kind {
            ObservableKind::Ip => {
                let bare = text.trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = bare.parse::<IpAddr>() {
                    ip.to_string()
                } else if let Ok(net) = bare.parse::<IpNet>() {
                    net.trunc().to_string()
                } else {
                    return Err(fail("not an IP address or network"));
                }
            }
            ObservableKind::Domain => domain(text).map_err(|r| fail(&r))?,
            ObservableKind::Host => {
                no_space(text)?;
                let host = text.trim_end_matches('.').to_lowercase();
                if host.is_empty() {
                    return Err(fail("no name before the dot"));
                }
                // Measured lower-cased: some letters grow when lower-cased (`Ⱦ` is two bytes, `ⱦ` three).
                if host.len() > 255 {
                    return Err(fail("longer than 255 bytes"));
                }
                host
            }
            ObservableKind::Url => {
                no_space(text)?;
                let Some((scheme, rest)) = text.split_once("://") else {
                    return Err(fail("no scheme (`https://…`)"));
                };
                let scheme_ok = scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
                if !scheme_ok || rest.is_empty() {
                    return Err(fail("not a URL (`scheme://host/path`)"));
                }
                text.to_owned()
            }
            ObservableKind::Hash => {
                if !text.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(fail("not hexadecimal"));
                }
                if ![32, 40, 64, 128].contains(&text.len()) {
                    return Err(fail(
                        "not the length of MD5, SHA-1, SHA-256 or SHA-512 (32, 40, 64 or 128 digits)",
                    ));
                }
                text.to_ascii_lowercase()
            }
            ObservableKind::Email => {
                no_space(text)?;
                let Some((local, host)) = text.rsplit_once('@') else {
                    return Err(fail("no `@`"));
                };
                if local.is_empty() || local.contains('@') {
                    return Err(fail("not one mailbox before one `@`"));
                }
                format!("{local}@{}", domain(host).map_err(|r| fail(&r))?)
            }
            ObservableKind::Account | ObservableKind::File => text.to_owned(),
        };
        // Lower-casing can lengthen a text: the bound holds for what is kept.
        if value.chars().count() > MAX_OBSERVABLE_CHARS {
            return Err(fail("longer than 2048 characters"));
        }
        Ok(Observable { kind, value })
    }
}

/// A domain name, lower-cased without its trailing dot: two or more labels of letters (any script), digits,
/// `-` and `_`, none longer than 63 bytes or starting or ending with `-`, 253 bytes at most.
fn domain(text: &str) -> Result<String, String> {
    let name = text.trim_end_matches('.').to_lowercase();
    if name.len() > 253 {
        return Err("longer than 253 bytes".to_owned());
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("not a domain name (two labels or more)".to_owned());
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(format!("label `{label}` is not a domain label"));
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(kind: ObservableKind, value: &str) -> String {
        Observable::parse(kind, value).unwrap().value
    }

    fn err(kind: ObservableKind, value: &str) -> String {
        Observable::parse(kind, value).unwrap_err().to_string()
    }

    #[test]
    fn values_are_written_one_way() {
        use ObservableKind::*;
        assert_eq!(ok(Ip, " 203.0.113.7 "), "203.0.113.7");
        assert_eq!(ok(Ip, "[2001:DB8::1]"), "2001:db8::1");
        assert_eq!(ok(Ip, "10.1.2.3/24"), "10.1.2.0/24");
        assert_eq!(ok(Domain, "Evil.Example.KZ."), "evil.example.kz");
        assert_eq!(ok(Domain, "акимат.қаз"), "акимат.қаз");
        assert_eq!(ok(Hash, &"AB".repeat(32)), "ab".repeat(32));
        assert_eq!(
            ok(Email, "Phish@Mail.Example.com"),
            "Phish@mail.example.com"
        );
        assert_eq!(ok(Host, "WS-07.akimat.local."), "ws-07.akimat.local");
        assert_eq!(
            ok(Url, "https://evil.example/a?b=c"),
            "https://evil.example/a?b=c"
        );
        assert_eq!(ok(Account, "AKIMAT\\svc_backup"), "AKIMAT\\svc_backup");
        assert_eq!(
            ok(File, "C:\\Users\\Public\\a b.exe"),
            "C:\\Users\\Public\\a b.exe"
        );
    }

    #[test]
    fn bad_values_are_named_with_the_reason() {
        use ObservableKind::*;
        assert_eq!(
            err(Ip, "10.0.0.300"),
            "observable ip `10.0.0.300`: not an IP address or network"
        );
        assert!(err(Domain, "localhost").contains("two labels"));
        assert!(err(Domain, "-a.kz").contains("label `-a`"));
        assert!(err(Hash, "abc").contains("length"));
        assert!(err(Hash, &"g".repeat(32)).contains("hexadecimal"));
        assert!(err(Email, "nobody").contains("no `@`"));
        assert!(err(Url, "evil.example/path").contains("no scheme"));
        assert!(err(Host, "two words").contains("space"));
        // Found by the fuzz target: a name that is all dots is no name; a name measured after lower-casing.
        assert!(err(Host, "..").contains("no name"));
        let growing = format!("{}\u{23e}", "a".repeat(254));
        assert!(err(Host, &growing).contains("255 bytes"));
        assert!(err(Account, "  ").contains("empty"));
        assert!(err(File, "a\u{7}b").contains("control"));
        assert!(err(File, &"x".repeat(2049)).contains("2048"));
        assert!(
            ObservableKind::parse("ipv4")
                .unwrap_err()
                .to_string()
                .contains("expected one of ip, domain")
        );
    }

    proptest! {
        /// Any text is either refused with its kind named or written in a form that parses to itself.
        #[test]
        fn parsing_is_idempotent(kind in 0usize..8, text in "\\PC{0,40}") {
            let kind = ObservableKind::ALL[kind];
            match Observable::parse(kind, &text) {
                Ok(o) => prop_assert_eq!(Observable::parse(kind, &o.value).unwrap(), o),
                Err(e) => {
                    let named = format!("observable {} ", kind.as_str());
                    prop_assert!(e.to_string().starts_with(&named), "{}", e);
                }
            }
        }

        #[test]
        fn addresses_round_trip(a in any::<[u8; 4]>(), prefix in 0u8..=32) {
            let text = format!("{}.{}.{}.{}/{prefix}", a[0], a[1], a[2], a[3]);
            let o = Observable::parse(ObservableKind::Ip, &text).unwrap();
            let net: IpNet = o.value.parse().unwrap();
            prop_assert_eq!(net.prefix_len(), prefix);
        }
    }
}
