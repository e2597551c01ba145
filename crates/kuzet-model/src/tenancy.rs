//! Tenants (served organizations), their facilities (informatization objects) and their sources (sender
//! identities), and the directory that attributes a sender to exactly one tenant.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::{FacilityId, FormatHint, ModelError, Sector, SourceId, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// The sector it belongs to, when known: what the NCCIS national view counts its incidents by.
    pub sector: Option<Sector>,
}

/// How long a tenant's events stay searchable online and how long they are kept sealed. The law's floors apply to
/// everyone, administrators included (R3): at least two months online and three years kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub hot_days: u32,
    pub archive_years: u32,
}

impl Retention {
    /// Two months, counted as the longest two consecutive months can be short of: 60 days.
    pub const HOT_DAYS_FLOOR: u32 = 60;
    pub const ARCHIVE_YEARS_FLOOR: u32 = 3;

    /// Refuses a setting below a floor, citing the requirement.
    pub fn check(&self) -> Result<(), ModelError> {
        if self.hot_days < Self::HOT_DAYS_FLOOR {
            return Err(ModelError::RetentionBelowFloor(format!(
                "hot_days {} is below the legal floor of {} days: logs must stay searchable online for at \
                 least two months (R3)",
                self.hot_days,
                Self::HOT_DAYS_FLOOR
            )));
        }
        if self.archive_years < Self::ARCHIVE_YEARS_FLOOR {
            return Err(ModelError::RetentionBelowFloor(format!(
                "archive_years {} is below the legal floor of {} years: logs must be kept for at least three \
                 years (R3)",
                self.archive_years,
                Self::ARCHIVE_YEARS_FLOOR
            )));
        }
        Ok(())
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            hot_days: 62,
            archive_years: 3,
        }
    }
}

/// The class of an informatization object under the Uniform Requirements: 1 is the most demanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FacilityClass {
    Class1,
    Class2,
    Class3,
}

impl FacilityClass {
    pub fn from_number(n: u8) -> Result<Self, ModelError> {
        match n {
            1 => Ok(Self::Class1),
            2 => Ok(Self::Class2),
            3 => Ok(Self::Class3),
            other => Err(ModelError::InvalidFacilityClass(other)),
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Self::Class1 => 1,
            Self::Class2 => 2,
            Self::Class3 => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    pub id: FacilityId,
    pub tenant: TenantId,
    pub name: String,
    pub class: FacilityClass,
    /// A critical object of information and communication infrastructure (КВОИКИ).
    pub critical: bool,
}

/// How a sender proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceIdentity {
    /// Syslog (UDP/TCP) peers in this address range.
    Peer(IpNet),
    /// A TLS client certificate whose subject common name is this.
    TlsCommonName(String),
    /// A TLS client certificate with this SHA-256 fingerprint (lowercase hex of the DER).
    TlsFingerprint(String),
    /// An API token whose SHA-256 (lowercase hex) is this; the token itself is never stored.
    TokenSha256(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: SourceId,
    pub tenant: TenantId,
    pub facility: Option<FacilityId>,
    pub name: String,
    pub identities: Vec<SourceIdentity>,
    /// How to read what this source sends.
    pub format: FormatHint,
    /// How long this source may stay silent before it is reported (R6); `None` for sources that speak rarely.
    pub expected_interval_secs: Option<u64>,
}

/// Every tenant, facility and source, indexed for attribution. Built once from configuration (later from the
/// database) and swapped whole on change.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    tenants: Vec<Tenant>,
    facilities: Vec<Facility>,
    sources: Vec<Source>,
    by_peer: Vec<(IpNet, usize)>,
    by_common_name: HashMap<String, usize>,
    by_fingerprint: HashMap<String, usize>,
    by_token: HashMap<String, usize>,
}

impl Directory {
    /// Checks that every facility and source names a known tenant (and facility), that ids are unique and that
    /// no identity is claimed by two sources: an ambiguous identity could mix two tenants' events.
    pub fn new(
        tenants: Vec<Tenant>,
        facilities: Vec<Facility>,
        sources: Vec<Source>,
    ) -> Result<Self, DirectoryError> {
        let mut dir = Directory {
            tenants,
            facilities,
            sources,
            ..Default::default()
        };
        let mut seen = std::collections::HashSet::new();
        for tenant in &dir.tenants {
            if tenant.id.is_reserved() {
                return Err(DirectoryError::Reserved(tenant.id.to_string()));
            }
            if !seen.insert(tenant.id.as_str().to_owned()) {
                return Err(DirectoryError::Duplicate(format!("tenant `{}`", tenant.id)));
            }
        }
        let mut facility_ids = std::collections::HashSet::new();
        for facility in &dir.facilities {
            if dir.tenant(&facility.tenant).is_none() {
                return Err(DirectoryError::UnknownTenant {
                    object: format!("facility `{}`", facility.id),
                    tenant: facility.tenant.to_string(),
                });
            }
            if !facility_ids.insert(facility.id.clone()) {
                return Err(DirectoryError::Duplicate(format!(
                    "facility `{}`",
                    facility.id
                )));
            }
        }
        let mut source_ids = std::collections::HashSet::new();
        for (index, source) in dir.sources.iter().enumerate() {
            if !source_ids.insert(source.id.clone()) {
                return Err(DirectoryError::Duplicate(format!("source `{}`", source.id)));
            }
            if !dir.tenants.iter().any(|t| t.id == source.tenant) {
                return Err(DirectoryError::UnknownTenant {
                    object: format!("source `{}`", source.id),
                    tenant: source.tenant.to_string(),
                });
            }
            if let Some(facility) = &source.facility
                && !dir
                    .facilities
                    .iter()
                    .any(|f| &f.id == facility && f.tenant == source.tenant)
            {
                return Err(DirectoryError::UnknownFacility {
                    source_id: source.id.to_string(),
                    facility: facility.to_string(),
                });
            }
            for identity in &source.identities {
                let (map, key) = match identity {
                    SourceIdentity::Peer(net) => {
                        if let Some((_, other)) = dir.by_peer.iter().find(|(n, _)| n == net) {
                            return Err(DirectoryError::SharedIdentity {
                                identity: format!("peer {net}"),
                                first: dir.sources[*other].id.to_string(),
                                second: source.id.to_string(),
                            });
                        }
                        dir.by_peer.push((*net, index));
                        continue;
                    }
                    SourceIdentity::TlsCommonName(cn) => (&mut dir.by_common_name, cn.clone()),
                    SourceIdentity::TlsFingerprint(fp) => {
                        (&mut dir.by_fingerprint, fp.to_ascii_lowercase())
                    }
                    SourceIdentity::TokenSha256(h) => (&mut dir.by_token, h.to_ascii_lowercase()),
                };
                if let Some(other) = map.insert(key.clone(), index) {
                    return Err(DirectoryError::SharedIdentity {
                        identity: key,
                        first: dir.sources[other].id.to_string(),
                        second: source.id.to_string(),
                    });
                }
            }
        }
        // Most specific range first, so a /32 for one server wins over the /24 of its network.
        dir.by_peer
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        Ok(dir)
    }

    pub fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }
    pub fn facilities(&self) -> &[Facility] {
        &self.facilities
    }
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }
    pub fn tenant(&self, id: &TenantId) -> Option<&Tenant> {
        self.tenants.iter().find(|t| &t.id == id)
    }
    pub fn source(&self, id: &SourceId) -> Option<&Source> {
        self.sources.iter().find(|s| &s.id == id)
    }

    /// The facility a source's events come from, if it names one.
    pub fn facility_of(&self, source: &SourceId) -> Option<&Facility> {
        let facility = self.source(source)?.facility.as_ref()?;
        self.facilities.iter().find(|f| &f.id == facility)
    }

    /// The source whose most specific peer range contains `ip`. IPv4-mapped IPv6 peers match IPv4 ranges.
    pub fn source_by_peer(&self, ip: IpAddr) -> Option<&Source> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.by_peer
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, index)| &self.sources[*index])
    }

    /// The source of a TLS client certificate: by fingerprint first, then by subject common name.
    pub fn source_by_certificate(
        &self,
        fingerprint_sha256: &str,
        common_name: Option<&str>,
    ) -> Option<&Source> {
        self.by_fingerprint
            .get(&fingerprint_sha256.to_ascii_lowercase())
            .or_else(|| common_name.and_then(|cn| self.by_common_name.get(cn)))
            .map(|index| &self.sources[*index])
    }

    pub fn source_by_token_sha256(&self, token_sha256: &str) -> Option<&Source> {
        self.by_token
            .get(&token_sha256.to_ascii_lowercase())
            .map(|index| &self.sources[*index])
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryError {
    #[error(
        "tenant `{0}`: ids starting with `kuzet-` are reserved for Kuzet itself (the audit trail)"
    )]
    Reserved(String),
    #[error("{0}: defined twice")]
    Duplicate(String),
    #[error("{object}: unknown tenant `{tenant}`")]
    UnknownTenant { object: String, tenant: String },
    #[error("source `{source_id}`: unknown facility `{facility}` of its tenant")]
    UnknownFacility { source_id: String, facility: String },
    #[error(
        "identity {identity}: claimed by sources `{first}` and `{second}`; a sender must map to exactly one source"
    )]
    SharedIdentity {
        identity: String,
        first: String,
        second: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, tenant: &str, identities: Vec<SourceIdentity>) -> Source {
        Source {
            id: SourceId::new(id).unwrap(),
            tenant: TenantId::new(tenant).unwrap(),
            facility: None,
            name: id.into(),
            identities,
            format: FormatHint::Auto,
            expected_interval_secs: None,
        }
    }

    fn tenants() -> Vec<Tenant> {
        ["a", "b"]
            .iter()
            .map(|t| Tenant {
                id: TenantId::new(*t).unwrap(),
                name: t.to_string(),
                sector: None,
            })
            .collect()
    }

    #[test]
    fn most_specific_peer_wins_and_unknown_is_none() {
        let dir = Directory::new(
            tenants(),
            vec![],
            vec![
                source(
                    "net",
                    "a",
                    vec![SourceIdentity::Peer("10.0.0.0/24".parse().unwrap())],
                ),
                source(
                    "host",
                    "b",
                    vec![SourceIdentity::Peer("10.0.0.7/32".parse().unwrap())],
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            dir.source_by_peer("10.0.0.7".parse().unwrap())
                .unwrap()
                .id
                .as_str(),
            "host"
        );
        assert_eq!(
            dir.source_by_peer("10.0.0.8".parse().unwrap())
                .unwrap()
                .id
                .as_str(),
            "net"
        );
        assert_eq!(
            dir.source_by_peer("::ffff:10.0.0.8".parse().unwrap())
                .unwrap()
                .id
                .as_str(),
            "net"
        );
        assert!(dir.source_by_peer("10.0.1.1".parse().unwrap()).is_none());
    }

    #[test]
    fn an_identity_shared_by_two_sources_is_refused() {
        let err = Directory::new(
            tenants(),
            vec![],
            vec![
                source("x", "a", vec![SourceIdentity::TokenSha256("ab".into())]),
                source("y", "b", vec![SourceIdentity::TokenSha256("AB".into())]),
            ],
        )
        .unwrap_err();
        assert!(
            matches!(err, DirectoryError::SharedIdentity { .. }),
            "{err}"
        );
    }

    #[test]
    fn the_audit_trail_tenant_id_is_reserved() {
        let mut all = tenants();
        all.push(Tenant {
            id: TenantId::audit_trail(),
            name: "not the audit trail".into(),
            sector: None,
        });
        let err = Directory::new(all, vec![], vec![]).unwrap_err();
        assert!(matches!(err, DirectoryError::Reserved(_)), "{err}");
    }

    #[test]
    fn retention_below_a_floor_is_refused_citing_the_requirement() {
        Retention::default().check().unwrap();
        let err = Retention {
            hot_days: 30,
            archive_years: 3,
        }
        .check()
        .unwrap_err();
        assert!(err.to_string().contains("R3"), "{err}");
        assert!(
            Retention {
                hot_days: 60,
                archive_years: 2
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn unknown_tenant_is_refused() {
        let err = Directory::new(tenants(), vec![], vec![source("x", "zzz", vec![])]).unwrap_err();
        assert_eq!(err.to_string(), "source `x`: unknown tenant `zzz`");
    }
}
