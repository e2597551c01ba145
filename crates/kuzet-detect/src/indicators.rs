//! Threat-intelligence indicators matched against events as they arrive: IP addresses and networks, domains (and
//! their subdomains), URLs, file hashes and e-mail addresses, read from STIX 2.1 bundles, CSV files and MISP feed
//! events, each match carrying where the indicator came from.
//!
//! Lookups are hash lookups per event field: an address is looked up once per distinct prefix length of the
//! loaded networks, a domain once per label suffix. Pure: the caller reads the files and gives the time.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};

use ipnet::IpNet;
use jiff::Timestamp;
use kuzet_model::{Event, Tlp};
use serde::{Deserialize, Serialize};

use crate::matcher::each_text;
use crate::rules::{ProblemKind, RuleProblem};

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorKind {
    /// An address or a network.
    Ip,
    Domain,
    Url,
    Md5,
    Sha1,
    Sha256,
    Email,
}

impl IndicatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha1 => "sha1",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::Email => "email",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "ip" | "ipv4" | "ipv6" | "cidr" | "ip-src" | "ip-dst" | "ipv4-addr" | "ipv6-addr" => {
                IndicatorKind::Ip
            }
            "domain" | "hostname" | "domain-name" | "fqdn" => IndicatorKind::Domain,
            "url" | "uri" | "link" => IndicatorKind::Url,
            "md5" => IndicatorKind::Md5,
            "sha1" | "sha-1" => IndicatorKind::Sha1,
            "sha256" | "sha-256" => IndicatorKind::Sha256,
            "email" | "email-src" | "email-dst" | "email-addr" => IndicatorKind::Email,
            _ => return None,
        })
    }
}

/// Where an indicator came from; every match carries it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The feed: the file it was read from, as the caller named it.
    pub feed: String,
    /// The indicator's id in the feed (a STIX id, a MISP attribute uuid, a CSV line).
    pub reference: String,
    pub description: Option<String>,
    pub confidence: Option<u8>,
    pub tags: Vec<String>,
    /// After this, the indicator no longer matches.
    pub valid_until: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub kind: IndicatorKind,
    /// Normalized: lower case, a network in CIDR form, a domain without a trailing dot.
    pub value: String,
    pub provenance: Provenance,
}

/// An indicator set with, for each indicator, when it was first loaded: a feed read again keeps the times of the
/// indicators it still holds, so consumers of what changed (TAXII's `added_after`) see only the new ones.
#[derive(Debug)]
pub struct LoadedIndicators {
    set: IndicatorSet,
    added: Vec<Timestamp>,
}

impl LoadedIndicators {
    pub fn set(&self) -> &IndicatorSet {
        &self.set
    }

    /// When the indicator at `index` of [`IndicatorSet::indicators`] was first loaded.
    pub fn added(&self, index: usize) -> Timestamp {
        self.added
            .get(index)
            .copied()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

impl std::ops::Deref for LoadedIndicators {
    type Target = IndicatorSet;

    fn deref(&self) -> &IndicatorSet {
        &self.set
    }
}

/// What makes an indicator the same one across reloads: its feed, its id there, its kind and value.
fn identity_of(i: &Indicator) -> (&str, &str, IndicatorKind, &str) {
    (
        i.provenance.feed.as_str(),
        i.provenance.reference.as_str(),
        i.kind,
        i.value.as_str(),
    )
}

/// The indicator set in use, replaced whole when its feeds change: detection matches the current one, the API
/// shows and shares it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SharedIndicators {
    inner: Arc<RwLock<Arc<LoadedIndicators>>>,
}

impl SharedIndicators {
    /// `set`, every indicator loaded at `now`.
    pub fn new(set: IndicatorSet, now: Timestamp) -> Self {
        let added = vec![now; set.len()];
        Self {
            inner: Arc::new(RwLock::new(Arc::new(LoadedIndicators { set, added }))),
        }
    }

    /// The set in use.
    pub fn load(&self) -> Arc<LoadedIndicators> {
        // A writer only swaps the pointer: a poisoned lock still holds a whole set.
        Arc::clone(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts `set` in use from now on: indicators the previous set held keep their time, the others are added
    /// `now`. What readers hold stays valid.
    pub fn replace(&self, set: IndicatorSet, now: Timestamp) {
        let previous = self.load();
        let known: HashMap<_, Timestamp> = previous
            .set
            .indicators()
            .iter()
            .zip(&previous.added)
            .map(|(i, at)| (identity_of(i), *at))
            .collect();
        let added = set
            .indicators()
            .iter()
            .map(|i| known.get(&identity_of(i)).copied().unwrap_or(now))
            .collect();
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(LoadedIndicators { set, added });
    }
}

/// One indicator found in one event field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorHit {
    /// Index into [`IndicatorSet::indicators`].
    pub indicator: u32,
    pub field: String,
    /// The field's value that matched.
    pub value: String,
}

/// The ECS (and Windows) fields each kind is looked for in.
const IP_FIELDS: &[&str] = &[
    "source.ip",
    "destination.ip",
    "client.ip",
    "server.ip",
    "host.ip",
    "related.ip",
    "dns.resolved_ip",
    "winlog.event_data.IpAddress",
    "winlog.event_data.SourceIp",
    "winlog.event_data.DestinationIp",
    "winlog.event_data.SourceAddress",
    "winlog.event_data.DestAddress",
];
const DOMAIN_FIELDS: &[&str] = &[
    "dns.question.name",
    "url.domain",
    "destination.domain",
    "server.domain",
    "tls.server.sni",
    "winlog.event_data.QueryName",
    "winlog.event_data.DestinationHostname",
];
const URL_FIELDS: &[&str] = &["url.original", "url.full"];
const EMAIL_FIELDS: &[&str] = &[
    "email.from.address",
    "email.to.address",
    "email.sender.address",
    "user.email",
    "source.user.email",
];
const HASH_FIELDS: &[(&str, Option<IndicatorKind>)] = &[
    ("file.hash.md5", Some(IndicatorKind::Md5)),
    ("file.hash.sha1", Some(IndicatorKind::Sha1)),
    ("file.hash.sha256", Some(IndicatorKind::Sha256)),
    ("process.hash.md5", Some(IndicatorKind::Md5)),
    ("process.hash.sha1", Some(IndicatorKind::Sha1)),
    ("process.hash.sha256", Some(IndicatorKind::Sha256)),
    // Sysmon: `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`.
    ("winlog.event_data.Hashes", None),
];

/// Indicators indexed for matching.
#[derive(Debug, Default)]
pub struct IndicatorSet {
    indicators: Vec<Indicator>,
    exact: HashMap<(IndicatorKind, String), Vec<u32>>,
    /// Networks by prefix length, then by network address.
    networks: Vec<(u8, HashMap<IpNet, Vec<u32>>)>,
    problems: Vec<RuleProblem>,
}

impl IndicatorSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// Entries that could not be read, by feed and position, with the reason.
    pub fn problems(&self) -> &[RuleProblem] {
        &self.problems
    }

    fn problem(&mut self, feed: &str, reference: String, reason: String) {
        self.problems.push(RuleProblem {
            origin: feed.to_owned(),
            rule: Some(reference),
            kind: ProblemKind::Parse,
            reason,
        });
    }

    /// Adds one indicator; a value that is not of its kind is a problem.
    pub fn add(&mut self, kind: IndicatorKind, value: &str, provenance: Provenance) {
        let normalized = match normalize(kind, value) {
            Ok(normalized) => normalized,
            Err(reason) => {
                let (feed, reference) = (provenance.feed.clone(), provenance.reference.clone());
                self.problem(&feed, reference, reason);
                return;
            }
        };
        let index = u32::try_from(self.indicators.len()).unwrap_or(u32::MAX);
        match (kind, normalized.parse::<IpNet>()) {
            (IndicatorKind::Ip, Ok(net)) if net.prefix_len() < net.max_prefix_len() => {
                let length = net.prefix_len();
                let slot = match self.networks.iter().position(|(l, _)| *l == length) {
                    Some(slot) => slot,
                    None => {
                        self.networks.push((length, HashMap::new()));
                        self.networks.len() - 1
                    }
                };
                self.networks[slot]
                    .1
                    .entry(net.trunc())
                    .or_default()
                    .push(index);
            }
            _ => self
                .exact
                .entry((kind, normalized.clone()))
                .or_default()
                .push(index),
        }
        self.indicators.push(Indicator {
            kind,
            value: normalized,
            provenance,
        });
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Reads a CSV file: a header naming `type` and `value` columns (and optionally `description`, `confidence`,
    /// `valid_until`, `tags` separated by `;`), then one indicator per line.
    pub fn add_csv(&mut self, feed: &str, text: &str) {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let Some((_, header)) = lines.next() else {
            return;
        };
        let columns: Vec<String> = split_csv(header)
            .into_iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let column = |name: &str| columns.iter().position(|c| c == name);
        let (Some(kind_at), Some(value_at)) = (column("type"), column("value")) else {
            self.problem(
                feed,
                "line 1".into(),
                "the header must name a `type` and a `value` column".into(),
            );
            return;
        };
        for (number, line) in lines {
            let fields = split_csv(line);
            let get = |at: Option<usize>| {
                at.and_then(|i| fields.get(i))
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
            };
            let reference = format!("line {}", number + 1);
            let Some(kind_text) = get(Some(kind_at)) else {
                self.problem(feed, reference, "no type".into());
                continue;
            };
            let Some(kind) = IndicatorKind::parse(kind_text) else {
                self.problem(
                    feed,
                    reference,
                    format!("type `{kind_text}`: expected ip, cidr, domain, url, md5, sha1, sha256 or email"),
                );
                continue;
            };
            let Some(value) = get(Some(value_at)) else {
                self.problem(feed, reference, "no value".into());
                continue;
            };
            let valid_until = match get(column("valid_until")) {
                None => None,
                Some(text) => match text.parse::<Timestamp>() {
                    Ok(t) => Some(t),
                    Err(_) => {
                        self.problem(
                            feed,
                            reference,
                            format!("valid_until `{text}`: not an RFC 3339 time"),
                        );
                        continue;
                    }
                },
            };
            let provenance = Provenance {
                feed: feed.to_owned(),
                reference,
                description: get(column("description")).map(str::to_owned),
                confidence: get(column("confidence")).and_then(|c| c.parse().ok()),
                tags: get(column("tags"))
                    .map(|t| {
                        t.split(';')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                valid_until,
            };
            let value = value.to_owned();
            self.add(kind, &value, provenance);
        }
    }

    /// Reads a STIX 2.1 bundle: each `indicator` object's `pattern` of equality comparisons joined by `OR`
    /// (`[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value = 'x.kz']`). A pattern that needs several
    /// observations at once (`AND`, `FOLLOWEDBY`) or another operator is a problem; the others load.
    pub fn add_stix(&mut self, feed: &str, text: &str) {
        let bundle: serde_json::Value = match serde_json::from_str(text) {
            Ok(bundle) => bundle,
            Err(error) => {
                self.problem(feed, "bundle".into(), format!("not JSON: {error}"));
                return;
            }
        };
        let Some(objects) = bundle.get("objects").and_then(serde_json::Value::as_array) else {
            self.problem(
                feed,
                "bundle".into(),
                "no `objects` list: not a STIX 2.1 bundle".into(),
            );
            return;
        };
        for object in objects {
            if object.get("type").and_then(serde_json::Value::as_str) != Some("indicator") {
                continue;
            }
            let text_of = |key: &str| object.get(key).and_then(serde_json::Value::as_str);
            let reference = text_of("id").unwrap_or("indicator without id").to_owned();
            let Some(pattern) = text_of("pattern") else {
                self.problem(feed, reference, "no pattern".into());
                continue;
            };
            if text_of("pattern_type").is_some_and(|t| t != "stix") {
                self.problem(
                    feed,
                    reference,
                    format!(
                        "pattern_type `{}` is not stix",
                        text_of("pattern_type").unwrap_or("")
                    ),
                );
                continue;
            }
            let valid_until = text_of("valid_until").and_then(|t| t.parse().ok());
            let strings = |key: &str| {
                object
                    .get(key)
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(serde_json::Value::as_str)
            };
            let mut tags: Vec<String> = strings("labels").map(str::to_owned).collect();
            // The TLP marking travels with the indicator as a `tlp:` tag (MISP's convention), so that whatever
            // shares it later honours it.
            if let Some(tlp) = strings("object_marking_refs")
                .filter_map(Tlp::from_marking)
                .max()
                && Tlp::from_tags(tags.iter().map(String::as_str)).is_none()
            {
                tags.push(format!("tlp:{}", tlp.as_str()));
            }
            let provenance = Provenance {
                feed: feed.to_owned(),
                reference: reference.clone(),
                description: text_of("name")
                    .or(text_of("description"))
                    .map(str::to_owned),
                confidence: object
                    .get("confidence")
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|c| u8::try_from(c).ok()),
                tags,
                valid_until,
            };
            match stix_pattern(pattern) {
                Ok(comparisons) => {
                    for (kind, value) in comparisons {
                        self.add(kind, &value, provenance.clone());
                    }
                }
                Err(reason) => {
                    self.problem(feed, reference, format!("pattern `{pattern}`: {reason}"))
                }
            }
        }
    }

    /// Reads a MISP feed event (`{"Event": {…, "Attribute": […], "Object": [{"Attribute": […]}]}}`): every
    /// attribute marked `to_ids` of a type Kuzet matches (ip-src, ip-dst, domain, hostname, url, md5, sha1,
    /// sha256, email-src, email-dst, and the `|`-pairs such as `domain|ip` and `filename|sha256`).
    pub fn add_misp(&mut self, feed: &str, text: &str) {
        let document: serde_json::Value = match serde_json::from_str(text) {
            Ok(document) => document,
            Err(error) => {
                self.problem(feed, "event".into(), format!("not JSON: {error}"));
                return;
            }
        };
        let Some(event) = document.get("Event") else {
            self.problem(
                feed,
                "event".into(),
                "no `Event` object: not a MISP feed event".into(),
            );
            return;
        };
        let info = event
            .get("info")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        let tags: Vec<String> = event
            .get("Tag")
            .and_then(serde_json::Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut attributes: Vec<&serde_json::Value> = event
            .get("Attribute")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for object in event
            .get("Object")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            attributes.extend(
                object
                    .get("Attribute")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        }
        for attribute in attributes {
            let text_of = |key: &str| attribute.get(key).and_then(serde_json::Value::as_str);
            let to_ids = match attribute.get("to_ids") {
                Some(serde_json::Value::Bool(b)) => *b,
                Some(serde_json::Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
                _ => false,
            };
            if !to_ids {
                continue;
            }
            let (Some(kind), Some(value)) = (text_of("type"), text_of("value")) else {
                continue;
            };
            let reference = text_of("uuid")
                .unwrap_or("attribute without uuid")
                .to_owned();
            let provenance = Provenance {
                feed: feed.to_owned(),
                reference,
                description: text_of("comment")
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .or(info.clone()),
                confidence: None,
                tags: tags.clone(),
                valid_until: None,
            };
            // Pairs: `domain|ip`, `filename|sha256`, `ip-dst|port`: each typed half that Kuzet matches.
            for (part_kind, part_value) in kind.split('|').zip(value.split('|')) {
                if let Some(kind) = IndicatorKind::parse(part_kind) {
                    self.add(kind, part_value, provenance.clone());
                }
            }
        }
    }

    /// The indicators found in `event` that are valid at `at`, each once (in the first field it occurs in:
    /// `related.ip` repeats `source.ip`, and one event is one sighting).
    pub fn matches(&self, event: &Event, at: Timestamp, out: &mut Vec<IndicatorHit>) {
        if self.indicators.is_empty() {
            return;
        }
        let mut seen = BTreeSet::new();
        let mut hit = |out: &mut Vec<IndicatorHit>, indices: &[u32], field: &str, value: &str| {
            for &index in indices {
                let indicator = &self.indicators[index as usize];
                if indicator
                    .provenance
                    .valid_until
                    .is_some_and(|until| at > until)
                {
                    continue;
                }
                if seen.insert(index) {
                    out.push(IndicatorHit {
                        indicator: index,
                        field: field.to_owned(),
                        value: value.to_owned(),
                    });
                }
            }
        };
        for field in IP_FIELDS {
            texts(event, field, &mut |text| {
                let Ok(ip) = text.trim().parse::<IpAddr>() else {
                    return;
                };
                if let Some(indices) = self.exact.get(&(IndicatorKind::Ip, ip.to_string())) {
                    hit(out, indices, field, text);
                }
                for (length, networks) in &self.networks {
                    if let Ok(net) = IpNet::new(ip, *length)
                        && let Some(indices) = networks.get(&net.trunc())
                    {
                        hit(out, indices, field, text);
                    }
                }
            });
        }
        for field in DOMAIN_FIELDS {
            texts(event, field, &mut |text| {
                let domain = text.trim().trim_end_matches('.').to_ascii_lowercase();
                // The domain and every parent: an indicator for `evil.kz` matches `a.b.evil.kz`.
                let mut rest = domain.as_str();
                loop {
                    if let Some(indices) = self.exact.get(&(IndicatorKind::Domain, rest.to_owned()))
                    {
                        hit(out, indices, field, text);
                    }
                    match rest.split_once('.') {
                        Some((_, parent)) if !parent.is_empty() => rest = parent,
                        _ => break,
                    }
                }
            });
        }
        for field in URL_FIELDS {
            texts(event, field, &mut |text| {
                if let Ok(url) = normalize(IndicatorKind::Url, text)
                    && let Some(indices) = self.exact.get(&(IndicatorKind::Url, url))
                {
                    hit(out, indices, field, text);
                }
            });
        }
        for field in EMAIL_FIELDS {
            texts(event, field, &mut |text| {
                if let Some(indices) = self
                    .exact
                    .get(&(IndicatorKind::Email, text.trim().to_lowercase()))
                {
                    hit(out, indices, field, text);
                }
            });
        }
        for (field, kind) in HASH_FIELDS {
            texts(event, field, &mut |text| {
                let parts: Vec<(IndicatorKind, &str)> = match kind {
                    Some(kind) => vec![(*kind, text)],
                    None => text
                        .split(',')
                        .filter_map(|part| {
                            let (name, value) = part.split_once('=')?;
                            Some((IndicatorKind::parse(name)?, value))
                        })
                        .collect(),
                };
                for (kind, value) in parts {
                    if let Some(indices) =
                        self.exact.get(&(kind, value.trim().to_ascii_lowercase()))
                    {
                        hit(out, indices, field, value);
                    }
                }
            });
        }
    }
}

fn texts(event: &Event, field: &str, f: &mut dyn FnMut(&str)) {
    if let Some(value) = event.fields.get(field) {
        each_text(value, f);
    }
}

/// The normalized value, or why it is not of its kind.
fn normalize(kind: IndicatorKind, value: &str) -> Result<String, String> {
    let value = value.trim();
    let hex = |len: usize| -> Result<String, String> {
        if value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(value.to_ascii_lowercase())
        } else {
            Err(format!("`{value}` is not {} hexadecimal digits", len))
        }
    };
    match kind {
        IndicatorKind::Ip => {
            if let Ok(ip) = value.parse::<IpAddr>() {
                return Ok(ip.to_string());
            }
            value
                .parse::<IpNet>()
                .map(|net| net.trunc().to_string())
                .map_err(|_| format!("`{value}` is not an IP address or network"))
        }
        IndicatorKind::Domain => {
            let domain = value.trim_end_matches('.').to_ascii_lowercase();
            let valid = !domain.is_empty()
                && domain.len() <= 253
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
                });
            if valid {
                Ok(domain)
            } else {
                Err(format!("`{value}` is not a domain name"))
            }
        }
        IndicatorKind::Url => {
            let Some((scheme, rest)) = value.split_once("://") else {
                return Err(format!("`{value}` is not a URL (no scheme)"));
            };
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            if host.is_empty() {
                return Err(format!("`{value}` is not a URL (no host)"));
            }
            Ok(format!(
                "{}://{}/{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                path
            ))
        }
        IndicatorKind::Md5 => hex(32),
        IndicatorKind::Sha1 => hex(40),
        IndicatorKind::Sha256 => hex(64),
        IndicatorKind::Email => {
            let lower = value.to_lowercase();
            match lower.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(lower),
                _ => Err(format!("`{value}` is not an e-mail address")),
            }
        }
    }
}

/// The (kind, value) comparisons of a STIX pattern of `OR`-joined equality observations.
fn stix_pattern(pattern: &str) -> Result<Vec<(IndicatorKind, String)>, String> {
    let mut out = Vec::new();
    let mut rest = pattern.trim();
    loop {
        let inner_start = rest.strip_prefix('[').ok_or("expected `[`")?;
        // The observation ends at the first `]` outside quotes (a URL may hold one).
        let close = *unquoted(inner_start, "]").first().ok_or("expected `]`")?;
        let (inner, after) = (&inner_start[..close], &inner_start[close + 1..]);
        for comparison in split_keyword(inner, " OR ") {
            if split_keyword(comparison, " AND ").len() > 1 {
                return Err(
                    "AND needs several values at once, which an indicator set cannot say".into(),
                );
            }
            let (path, value) = comparison
                .split_once('=')
                .ok_or("only `=` comparisons are read")?;
            let (path, value) = (path.trim(), value.trim());
            if path.ends_with('!') || path.ends_with('<') || path.ends_with('>') {
                return Err("only `=` comparisons are read".into());
            }
            let value = unquote(value).ok_or("the value must be a quoted string")?;
            let kind = match path {
                "ipv4-addr:value"
                | "ipv6-addr:value"
                | "network-traffic:dst_ref.value"
                | "network-traffic:src_ref.value" => IndicatorKind::Ip,
                "domain-name:value" => IndicatorKind::Domain,
                "url:value" => IndicatorKind::Url,
                "email-addr:value" | "email-message:from_ref.value" => IndicatorKind::Email,
                "file:hashes.MD5" | "file:hashes.'MD5'" => IndicatorKind::Md5,
                "file:hashes.'SHA-1'" | "file:hashes.SHA1" => IndicatorKind::Sha1,
                "file:hashes.'SHA-256'" | "file:hashes.SHA256" => IndicatorKind::Sha256,
                other => return Err(format!("object path `{other}` is not one Kuzet matches")),
            };
            out.push((kind, value));
        }
        rest = after.trim();
        if rest.is_empty() {
            return Ok(out);
        }
        rest = rest
            .strip_prefix("OR")
            .ok_or("observations may only be joined by OR")?
            .trim_start();
    }
}

/// A STIX string literal's text: `'…'` with `\\` and `\'` escaped; `None` when it is not one literal.
fn unquote(literal: &str) -> Option<String> {
    let mut chars = literal.strip_prefix('\'')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '\'' => return chars.as_str().is_empty().then_some(out),
            c => out.push(c),
        }
    }
    None
}

/// Where `keyword` starts outside single quotes (byte offsets, not overlapping).
fn unquoted(text: &str, keyword: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quoted = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'\'' => quoted = !quoted,
            _ if !quoted && bytes[i..].starts_with(keyword.as_bytes()) => {
                out.push(i);
                i += keyword.len();
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Splits on `keyword` outside single quotes.
fn split_keyword<'a>(text: &'a str, keyword: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    for at in unquoted(text, keyword) {
        out.push(text[start..at].trim());
        start = at + keyword.len();
    }
    out.push(text[start..].trim());
    out
}

/// One CSV line's fields (RFC 4180 quoting).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}
