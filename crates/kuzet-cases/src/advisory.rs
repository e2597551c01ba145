//! Which part of an NCCIS advisory concerns a tenant (R18): an advisory names affected products (a CPE 2.3 name
//! or a purl, with a version range) and address ranges; a tenant's assets name what it runs and where. The part
//! forwarded to a tenant keeps the advisory's text and remedies but only the affected products and address
//! ranges that match one of its assets, and names those assets — another tenant's exposure is not its business.
//! An advisory that names neither products nor addresses is general and concerns every tenant.

use std::cmp::Ordering;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::notice::Notice;
use crate::report::{Words, pick};
use crate::{CasesError, Lang};

/// An advisory as NCCIS sends it: the payload of an `advisory` message (`docs/formats/nccis-exchange.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// `threat` or `vulnerability`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cve: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// Address ranges (CIDR) or single addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remedies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// A product an advisory concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// A CPE 2.3 name or a purl; a version in it is ignored (the range says which versions).
    pub product: String,
    /// A version range, e.g. `>=2.0, <2.4.1`; absent: every version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    /// What part of the product (a module, a component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

/// A tenant's asset, as matching needs it (advisories; events and incidents, see [`crate::link_assets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub id: String,
    /// Its name: for a host, the host name (short or fully qualified).
    pub name: String,
    /// A CPE 2.3 name or a purl, possibly with the version in it.
    pub product: Option<String>,
    /// The version, when the product name does not carry it.
    pub version: Option<String>,
    pub addresses: Vec<IpNet>,
}

/// The part of an advisory that concerns one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concerning {
    /// The advisory with only the affected products and addresses that match the tenant's assets.
    pub part: Advisory,
    /// The tenant's assets it matched, by id, each once.
    pub assets: Vec<String>,
    /// Assets matched on the product whose version is unknown: they may or may not be affected.
    pub version_unknown: Vec<String>,
}

/// The part of `advisory` that concerns a tenant owning `assets`, or `None` when nothing does. A malformed range
/// or address in the advisory is an error naming it.
pub fn concerning(advisory: &Advisory, assets: &[Asset]) -> Result<Option<Concerning>, CasesError> {
    if advisory.affected.is_empty() && advisory.addresses.is_empty() {
        return Ok(Some(Concerning {
            part: advisory.clone(),
            assets: Vec::new(),
            version_unknown: Vec::new(),
        }));
    }
    let mut matched: Vec<String> = Vec::new();
    let mut version_unknown: Vec<String> = Vec::new();
    let mut affected = Vec::new();
    for entry in &advisory.affected {
        let range = entry.versions.as_deref().map(Range::parse).transpose()?;
        let key = product_key(&entry.product);
        let mut hit = false;
        for asset in assets {
            let Some(product) = &asset.product else {
                continue;
            };
            if product_key(product) != key {
                continue;
            }
            let version = asset
                .version
                .clone()
                .filter(|v| !v.trim().is_empty())
                .or_else(|| product_version(product));
            match (&range, version) {
                (None, _) => {}
                (Some(range), Some(version)) => {
                    if !range.contains(&version) {
                        continue;
                    }
                }
                (Some(_), None) => push_once(&mut version_unknown, &asset.id),
            }
            hit = true;
            push_once(&mut matched, &asset.id);
        }
        if hit {
            affected.push(entry.clone());
        }
    }
    let mut addresses = Vec::new();
    for text in &advisory.addresses {
        let net = parse_net(text)?;
        let mut hit = false;
        for asset in assets {
            if asset.addresses.iter().any(|a| overlaps(a, &net)) {
                hit = true;
                push_once(&mut matched, &asset.id);
            }
        }
        if hit {
            addresses.push(text.clone());
        }
    }
    if matched.is_empty() {
        return Ok(None);
    }
    Ok(Some(Concerning {
        part: Advisory {
            affected,
            addresses,
            ..advisory.clone()
        },
        assets: matched,
        version_unknown,
    }))
}

fn push_once(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x == id) {
        list.push(id.to_owned());
    }
}

fn parse_net(text: &str) -> Result<IpNet, CasesError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| CasesError::Data {
            kind: "advisory",
            source_name: format!("address `{text}`"),
            reason: "not an address or CIDR range".into(),
        })
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// What names a product regardless of version: `cpe:<part>:<vendor>:<product>` for a CPE 2.3 name,
/// `pkg:<type>/<namespace>/<name>` for a purl, else the text; lowercase.
pub fn product_key(product: &str) -> String {
    let p = product.trim().to_lowercase();
    if let Some(rest) = p.strip_prefix("cpe:2.3:") {
        let parts: Vec<&str> = rest.splitn(4, ':').collect();
        return format!("cpe:{}", parts[..parts.len().min(3)].join(":"));
    }
    if p.starts_with("pkg:") {
        let end = p.find(['@', '?', '#']).unwrap_or(p.len());
        return p[..end].to_owned();
    }
    p
}

/// The version a CPE 2.3 name or purl carries, if any.
fn product_version(product: &str) -> Option<String> {
    let p = product.trim();
    if let Some(rest) = p
        .strip_prefix("cpe:2.3:")
        .or_else(|| p.strip_prefix("CPE:2.3:"))
    {
        let version = rest.split(':').nth(3)?;
        return (!matches!(version, "" | "*" | "-")).then(|| version.to_owned());
    }
    if p.starts_with("pkg:") {
        let (_, after) = p.split_once('@')?;
        let end = after.find(['?', '#']).unwrap_or(after.len());
        return Some(after[..end].to_owned()).filter(|v| !v.is_empty());
    }
    None
}

/// A version range: constraints joined by commas, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range(Vec<(Op, String)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Range {
    /// Reads `>=2.0, <2.4.1`; a bare version means `=`.
    pub fn parse(text: &str) -> Result<Self, CasesError> {
        let bad = |reason: &str| CasesError::Data {
            kind: "advisory",
            source_name: format!("version range `{text}`"),
            reason: reason.into(),
        };
        let mut constraints = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (op, version) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">", Op::Gt),
                ("<", Op::Lt),
                ("=", Op::Eq),
            ]
            .iter()
            .find_map(|(prefix, op)| part.strip_prefix(prefix).map(|v| (*op, v.trim())))
            .unwrap_or((Op::Eq, part));
            if version.is_empty() || version.contains(char::is_whitespace) {
                return Err(bad(
                    "each constraint is an operator (>=, >, <=, <, =, !=) and a version",
                ));
            }
            constraints.push((op, version.to_owned()));
        }
        Ok(Range(constraints))
    }

    pub fn contains(&self, version: &str) -> bool {
        self.0.iter().all(|(op, bound)| {
            let order = compare_versions(version, bound);
            match op {
                Op::Lt => order == Ordering::Less,
                Op::Le => order != Ordering::Greater,
                Op::Gt => order == Ordering::Greater,
                Op::Ge => order != Ordering::Less,
                Op::Eq => order == Ordering::Equal,
                Op::Ne => order != Ordering::Equal,
            }
        })
    }
}

/// Compares dotted versions segment by segment: numbers as numbers, other segments as text, a missing segment
/// as zero (`2.4` = `2.4.0`); a leading `v` is ignored.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split = |v: &str| -> Vec<String> {
        v.trim()
            .trim_start_matches(['v', 'V'])
            .split(['.', '-', '_', '+'])
            .map(str::to_owned)
            .collect()
    };
    let (a, b) = (split(a), split(b));
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).map_or("0", String::as_str);
        let y = b.get(i).map_or("0", String::as_str);
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            // A number sorts after text at the same place (1.0.0-rc1 < 1.0.0.1 and 1.0.rc < 1.0.0).
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

const ADVISORY_SUBJECT: Words = ("NCCIS advisory", "Уведомление НКЦИБ", "АҚҮҰО ескертуі");
const ADVISORY_OPENING: Words = (
    "The National Coordination Center for Information Security (NCCIS) has issued an advisory that concerns your \
     organization. Only the part that concerns your assets is shown.",
    "Национальный координационный центр информационной безопасности (НКЦИБ) выпустил уведомление, касающееся \
     вашей организации. Показана только часть, относящаяся к вашим активам.",
    "Ақпараттық қауіпсіздікті үйлестірудің ұлттық орталығы (АҚҮҰО) сіздің ұйымыңызға қатысты ескерту жариялады. \
     Тек сіздің активтеріңізге қатысты бөлігі көрсетілген.",
);
const ADVISORY_TYPE: Words = ("Type", "Тип", "Түрі");
const THREAT: Words = ("threat", "угроза", "қатер");
const VULNERABILITY: Words = ("vulnerability", "уязвимость", "осалдық");
const SEVERITY: Words = ("Severity", "Опасность", "Қауіптілік");
const AFFECTED: Words = (
    "Affected products",
    "Затронутые продукты",
    "Зардап шеккен өнімдер",
);
const ADDRESSES: Words = ("Address ranges", "Диапазоны адресов", "Мекенжай ауқымдары");
const YOUR_ASSETS: Words = (
    "Your assets matched",
    "Совпавшие ваши активы",
    "Сәйкес келген активтеріңіз",
);
const VERSION_UNKNOWN: Words = (
    "version unknown: check it",
    "версия неизвестна: проверьте",
    "нұсқасы белгісіз: тексеріңіз",
);
const REMEDIES: Words = ("Remedies", "Меры", "Шаралар");
const ALL_VERSIONS: Words = ("all versions", "все версии", "барлық нұсқалар");

/// The notice that tells a tenant's contacts of the part of an advisory that concerns it, in `lang`.
pub fn render_advisory_notice(organization: &str, c: &Concerning, lang: Lang) -> Notice {
    let a = &c.part;
    let one_line = |text: &str| -> String {
        text.chars()
            .map(|ch| if ch.is_control() { ' ' } else { ch })
            .collect()
    };
    let subject = format!(
        "[{}] {}: {} — {}",
        a.severity,
        pick(lang, ADVISORY_SUBJECT),
        organization,
        one_line(&a.title)
    );
    let kind = if a.kind == "threat" {
        THREAT
    } else {
        VULNERABILITY
    };
    let mut lines = vec![
        pick(lang, ADVISORY_OPENING).to_owned(),
        String::new(),
        one_line(&a.title),
        format!("{}: {}", pick(lang, ADVISORY_TYPE), pick(lang, kind)),
        format!("{}: {}", pick(lang, SEVERITY), a.severity),
    ];
    if !a.cve.is_empty() {
        lines.push(format!("CVE: {}", a.cve.join(", ")));
    }
    lines.push(String::new());
    lines.push(a.description.clone());
    if !a.affected.is_empty() {
        lines.push(String::new());
        lines.push(format!("{}:", pick(lang, AFFECTED)));
        for p in &a.affected {
            let versions = p.versions.as_deref().unwrap_or(pick(lang, ALL_VERSIONS));
            lines.push(format!("- {} ({versions})", p.product));
        }
    }
    if !a.addresses.is_empty() {
        lines.push(format!(
            "{}: {}",
            pick(lang, ADDRESSES),
            a.addresses.join(", ")
        ));
    }
    if !c.assets.is_empty() {
        lines.push(String::new());
        lines.push(format!("{}:", pick(lang, YOUR_ASSETS)));
        for id in &c.assets {
            let note = if c.version_unknown.contains(id) {
                format!(" ({})", pick(lang, VERSION_UNKNOWN))
            } else {
                String::new()
            };
            lines.push(format!("- {id}{note}"));
        }
    }
    if !a.remedies.is_empty() {
        lines.push(String::new());
        lines.push(format!("{}:", pick(lang, REMEDIES)));
        for r in &a.remedies {
            lines.push(format!("- {r}"));
        }
    }
    Notice {
        subject,
        body: lines.join("\n") + "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advisory() -> Advisory {
        Advisory {
            kind: "vulnerability".into(),
            title: "Remote code execution in the portal CMS".into(),
            severity: "critical".into(),
            description: "…".into(),
            cve: vec!["CVE-2026-12345".into()],
            affected: vec![
                Affected {
                    product: "cpe:2.3:a:bitrix:site_manager".into(),
                    versions: Some(">=20.0, <23.100.0".into()),
                    part: None,
                },
                Affected {
                    product: "pkg:npm/lodash".into(),
                    versions: Some("<4.17.21".into()),
                    part: None,
                },
            ],
            addresses: vec!["198.51.100.0/24".into()],
            remedies: vec!["update to 23.100.0".into()],
            references: Vec::new(),
        }
    }

    fn asset(id: &str, product: Option<&str>, version: Option<&str>, addresses: &[&str]) -> Asset {
        Asset {
            id: id.into(),
            name: id.into(),
            product: product.map(str::to_owned),
            version: version.map(str::to_owned),
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn only_matching_parts_are_kept() {
        let portal = asset(
            "portal",
            Some("cpe:2.3:a:bitrix:site_manager:22.5.1:*:*:*:*:*:*:*"),
            None,
            &["10.0.0.5/32"],
        );
        let got = concerning(&advisory(), std::slice::from_ref(&portal))
            .unwrap()
            .unwrap();
        assert_eq!(got.assets, ["portal"]);
        assert_eq!(
            got.part.affected.len(),
            1,
            "lodash does not concern this tenant"
        );
        assert_eq!(
            got.part.affected[0].product,
            "cpe:2.3:a:bitrix:site_manager"
        );
        assert!(got.part.addresses.is_empty(), "nor does the address range");
        assert_eq!(got.part.remedies, ["update to 23.100.0"]);
        // A patched version, another product, another network: nothing.
        let patched = asset(
            "portal",
            Some("cpe:2.3:a:bitrix:site_manager:23.100.0"),
            None,
            &[],
        );
        let other = asset(
            "db",
            Some("cpe:2.3:a:postgresql:postgresql"),
            Some("15.4"),
            &["10.1.0.0/16"],
        );
        assert_eq!(concerning(&advisory(), &[patched, other]).unwrap(), None);
    }

    #[test]
    fn addresses_purls_and_unknown_versions_match() {
        let edge = asset("edge", None, None, &["198.51.100.128/25"]);
        let app = asset("app", Some("pkg:npm/lodash@4.17.20"), None, &[]);
        let unknown = asset("old", Some("CPE:2.3:A:Bitrix:Site_Manager"), None, &[]);
        let got = concerning(&advisory(), &[edge, app, unknown])
            .unwrap()
            .unwrap();
        assert_eq!(
            got.assets,
            ["old", "app", "edge"],
            "in the advisory's order"
        );
        assert_eq!(got.version_unknown, ["old"]);
        assert_eq!(got.part.addresses, ["198.51.100.0/24"]);
        assert_eq!(got.part.affected.len(), 2);
    }

    #[test]
    fn a_general_advisory_concerns_everyone_and_bad_ranges_are_named() {
        let general = Advisory {
            affected: Vec::new(),
            addresses: Vec::new(),
            ..advisory()
        };
        assert!(concerning(&general, &[]).unwrap().is_some());
        let mut bad = advisory();
        bad.affected[0].versions = Some(">= ".into());
        let error = concerning(
            &bad,
            &[asset(
                "a",
                Some("cpe:2.3:a:bitrix:site_manager"),
                Some("1"),
                &[],
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("version range `>= `"), "{error}");
        let mut bad = advisory();
        bad.addresses = vec!["not-a-net".into()];
        assert!(
            concerning(&bad, &[])
                .unwrap_err()
                .to_string()
                .contains("address `not-a-net`")
        );
    }

    #[test]
    fn the_notice_names_only_the_tenants_part_in_its_language() {
        let portal = asset(
            "portal-1",
            Some("cpe:2.3:a:bitrix:site_manager:22.5.1"),
            None,
            &[],
        );
        let part = concerning(&advisory(), &[portal]).unwrap().unwrap();
        let kk = render_advisory_notice("Akimat", &part, Lang::Kk);
        assert!(
            kk.subject.starts_with("[critical] АҚҮҰО ескертуі: Akimat"),
            "{}",
            kk.subject
        );
        assert!(
            kk.body.contains("осалдық") && kk.body.contains("- portal-1"),
            "{}",
            kk.body
        );
        assert!(
            !kk.body.contains("lodash"),
            "another tenant's product is not named: {}",
            kk.body
        );
        let en = render_advisory_notice("Akimat", &part, Lang::En);
        assert!(
            en.body.contains("Remedies:\n- update to 23.100.0"),
            "{}",
            en.body
        );
        assert!(en.body.contains("CVE: CVE-2026-12345"), "{}", en.body);
    }

    #[test]
    fn versions_compare_by_segment() {
        use Ordering::*;
        for (a, b, order) in [
            ("2.4", "2.4.0", Equal),
            ("2.10", "2.9", Greater),
            ("v1.2.3", "1.2.3", Equal),
            ("1.0.0-rc1", "1.0.0.1", Less),
            ("23.100.0", "23.99.9", Greater),
        ] {
            assert_eq!(compare_versions(a, b), order, "{a} vs {b}");
        }
        let range = Range::parse(">=2.0, <2.4.1, !=2.3").unwrap();
        assert!(range.contains("2.0") && range.contains("2.4.0") && !range.contains("2.4.1"));
        assert!(!range.contains("2.3.0") && !range.contains("1.9"));
        assert!(Range::parse("1.2").unwrap().contains("1.2.0"));
    }

    proptest::proptest! {
        #[test]
        fn comparison_is_antisymmetric(a in "[0-9a-z.]{0,12}", b in "[0-9a-z.]{0,12}") {
            proptest::prop_assert_eq!(compare_versions(&a, &b), compare_versions(&b, &a).reverse());
        }

        #[test]
        fn ranges_never_panic(text in ".{0,40}", version in ".{0,20}") {
            if let Ok(range) = Range::parse(&text) {
                let _ = range.contains(&version);
            }
        }
    }
}
