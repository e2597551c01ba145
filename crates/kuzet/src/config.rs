//! The TOML configuration: what an operator writes (`*Config`, deserialized strictly so that a typo is an error
//! naming the key) and its conversion into the values the library crates take.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use jiff::SignedDuration;
use kuzet_db::{AuthPolicy, PasswordPolicy};
use kuzet_model::UserId;
use kuzet_model::access::{RoleCatalog, TenantReach};
use kuzet_model::{
    Directory, Facility, FacilityClass, FacilityId, FormatHint, Source, SourceId, SourceIdentity,
    Tenant, TenantId,
};
use serde::Deserialize;

/// The documented defaults, printed by `kuzet config default`. `Config::default()` is this file parsed, so the
/// documentation cannot drift from the behaviour.
pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub signing_key: PathBuf,
    pub ingest: IngestSection,
    pub time: TimeSection,
    pub incidents: IncidentsSection,
    pub notify: NotifySection,
    pub exchange: ExchangeSection,
    pub hub: HubSection,
    pub detection: DetectionSection,
    pub search: SearchSection,
    pub console: ConsoleSection,
    pub store: StoreSection,
    pub database: DatabaseSection,
    pub auth: AuthSection,
    #[serde(default)]
    pub roles: Vec<RoleConfig>,
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    /// Serve the web console at `/console/` on the HTTP listener.
    pub enabled: bool,
    /// The demo runs (`serve --demo`): every page says so. Not read from the file.
    #[serde(skip)]
    pub demo: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSection {
    /// Keep the hot search index (`docs/formats/index.md`); without it searches read the archive.
    pub index: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    pub lockout_threshold: u32,
    pub lockout_duration: Duration,
    pub session_lifetime: Duration,
    pub session_idle: Duration,
    pub token_max_lifetime: Duration,
    pub min_password_length: usize,
    pub secure_cookies: bool,
    pub bootstrap_admin: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    pub name: String,
    pub reach: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    pub syslog_udp: String,
    pub syslog_tcp: String,
    pub syslog_tls: String,
    pub http: String,
    pub tls_certificate: String,
    pub tls_key: String,
    pub tls_client_ca: String,
    pub tls_client_certificate_required: bool,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
    pub max_batch_events: usize,
    pub batch_linger: Duration,
    pub http_max_body_bytes: usize,
    pub http_max_decompressed_bytes: usize,
    pub udp_unattributed_source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSection {
    pub max_skew: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsSection {
    pub owner_notification_grace: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// How often the outbox is checked for notifications due.
    pub interval: Duration,
    /// `smtp://host:port` (plain), `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465`; "" sends no e-mail.
    pub smtp_url: String,
    /// The sender of e-mails, `Name <address>`.
    pub from: String,
    /// How long one delivery may take.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSection {
    /// The hub's base URL (`https://nccis.example.kz:8443`); "" keeps messages in the outbox.
    pub hub_url: String,
    /// This ISOC's party id, as registered at the hub.
    pub party: String,
    /// The hub's party id.
    pub hub_party: String,
    /// The CA that issued the hub's server certificate.
    pub ca: String,
    /// This ISOC's client certificate and key (PEM, PKCS#8); the key also signs messages.
    pub certificate: String,
    pub key: String,
    /// The certificate the hub signs receipts with.
    pub hub_certificate: String,
    pub interval: Duration,
    /// The first wait after a failed delivery; each failure doubles it, up to an hour.
    pub retry_base: Duration,
    pub timeout: Duration,
    /// `json` (a detached JWS beside each message) or `xml` (an XML signature inside; ADR 003): the form this
    /// ISOC's messages, and the hub's messages to it, travel in.
    pub format: kuzet_exchange::Form,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSection {
    /// Where the hub listens for ISOCs (mutual TLS), with `serve --role nccis`.
    pub listen: String,
    /// The hub's party id.
    pub party: String,
    /// The hub's server certificate and key (PEM, PKCS#8); the key also signs receipts.
    pub certificate: String,
    pub key: String,
    /// The CA whose client certificates may connect (each must also be registered: `kuzet hub register`).
    pub client_ca: String,
    /// Who is told, by e-mail or signed webhook, of every reported incident of level 3 or more (R11: the national
    /// security bodies).
    pub escalate: Vec<EscalateConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateConfig {
    /// An e-mail address, or a webhook URL (`https://…`) that receives a signed JSON document.
    pub address: String,
    /// For a webhook: the file holding the key its requests are signed with (HMAC-SHA256).
    #[serde(default)]
    pub secret_file: Option<String>,
    /// `kk`, `ru` or `en`.
    #[serde(default = "default_escalation_language")]
    pub language: String,
    /// The lowest level escalated to this address (3 unless set; 3–5).
    #[serde(default = "default_escalation_level")]
    pub min_level: u8,
}

fn default_escalation_language() -> String {
    "ru".into()
}

fn default_escalation_level() -> u8 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionSection {
    pub enabled: bool,
    pub builtin_rules: bool,
    pub rules: Vec<PathBuf>,
    pub indicators: Vec<PathBuf>,
    pub pipeline: Option<PathBuf>,
    pub dedup_window: Duration,
    pub source_check_interval: Duration,
    pub block_command: Vec<String>,
    /// TAXII 2.1 collections pulled into indicator feeds while the server runs.
    pub taxii: Vec<TaxiiFeed>,
}

impl DetectionSection {
    /// Every feed detection matches: the files named, and those the TAXII pulls fill.
    pub fn feeds(&self) -> Vec<PathBuf> {
        self.indicators
            .iter()
            .cloned()
            .chain(self.taxii.iter().map(|t| PathBuf::from(&t.out)))
            .collect()
    }
}

/// A TAXII 2.1 collection (MISP, OpenCTI, NCCIS, another Kuzet) pulled into a STIX feed file every `interval`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxiiFeed {
    /// The collection's URL (`https://…/collections/{id}/`).
    pub collection: String,
    /// The feed file it fills (a STIX bundle), matched by detection like those of `indicators`.
    pub out: String,
    /// A file holding a bearer token (a Kuzet API token, an OpenCTI token).
    #[serde(default)]
    pub token_file: Option<String>,
    /// HTTP basic authentication as this user, with the password in `password_file`.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
    /// Trust only this CA (PEM) for the server's certificate.
    #[serde(default)]
    pub ca: Option<String>,
    #[serde(default = "default_taxii_interval")]
    pub interval: Duration,
}

fn default_taxii_interval() -> Duration {
    Duration(SignedDuration::from_hours(1))
}

impl TaxiiFeed {
    /// The client this feed is pulled with, its secrets read from their files.
    pub fn client(&self) -> Result<kuzet_exchange::taxii_client::TaxiiClient> {
        use kuzet_exchange::taxii_client::Credentials;
        let named = || format!("[[detection.taxii]] `{}`", self.collection);
        let read = |file: &str| {
            std::fs::read_to_string(file)
                .map(|t| t.trim().to_owned())
                .with_context(|| format!("{}: reading {file}", named()))
        };
        let credentials = match (&self.token_file, &self.user, &self.password_file) {
            (Some(token), None, None) => Credentials::Bearer(read(token)?),
            (None, Some(user), Some(password)) => Credentials::Basic {
                user: user.clone(),
                password: read(password)?,
            },
            (None, None, None) => Credentials::None,
            _ => anyhow::bail!(
                "{}: either a token_file, or a user with its password_file",
                named()
            ),
        };
        Ok(kuzet_exchange::taxii_client::TaxiiClient::new(
            self.ca.as_deref().map(std::path::Path::new),
            credentials,
            std::time::Duration::from_secs(60),
        )?)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub wal_queue_batches: usize,
    pub wal_segment_bytes: u64,
    pub block_bytes: usize,
    pub block_max_age: Duration,
    pub segment_bytes: u64,
    pub day_offset: Duration,
    pub zstd_level: i32,
    pub seal_workers: usize,
    pub consumer_buffer_events: usize,
    pub backup_dir: String,
    pub disk_warn_free_percent: f64,
    pub disk_refuse_free_percent: f64,
    pub disk_check_interval: Duration,
    pub expiry_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub id: String,
    pub name: String,
    /// The sector of the economy (a `kuzet_model::Sector` code), for the NCCIS national view.
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub facilities: Vec<FacilityConfig>,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityConfig {
    pub id: String,
    pub name: String,
    pub class: u8,
    #[serde(default)]
    pub critical: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub facility: Option<String>,
    #[serde(default = "default_format")]
    pub format: String,
    #[serde(default)]
    pub peers: Vec<String>,
    #[serde(default)]
    pub tls_common_names: Vec<String>,
    #[serde(default)]
    pub tls_fingerprints: Vec<String>,
    #[serde(default)]
    pub token_sha256: Vec<String>,
    #[serde(default)]
    pub expected_interval: Option<Duration>,
}

fn default_format() -> String {
    "auto".into()
}

/// A duration written the friendly way (`5m`, `250ms`, `62d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub SignedDuration);

impl Duration {
    pub fn std(self) -> std::time::Duration {
        self.0.unsigned_abs()
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

pub fn parse_duration(text: &str) -> Result<Duration> {
    // jiff's friendly format has no day unit for SignedDuration; accept `Nd` as N×24h, which is what operators
    // mean for retention-like settings.
    if let Some(days) = text.trim().strip_suffix('d')
        && let Ok(days) = days.trim().parse::<i64>()
    {
        return Ok(Duration(SignedDuration::from_hours(days * 24)));
    }
    let value = SignedDuration::from_str(text).map_err(|e| {
        anyhow!("duration `{text}`: {e} (write e.g. \"5m\", \"250ms\", \"2h\", \"62d\")")
    })?;
    if value.is_negative() {
        bail!("duration `{text}`: must not be negative");
    }
    Ok(Duration(value))
}

impl Default for Config {
    fn default() -> Self {
        // The embedded default file is checked by a unit test; failing to parse it is a build defect.
        #[allow(clippy::expect_used)]
        toml::from_str(DEFAULT_CONFIG).expect("embedded default configuration parses")
    }
}

impl Config {
    /// Reads a configuration file. Keys missing from the file take their default, so a file may set just what it
    /// changes; unknown keys are an error naming the key.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("configuration {}: cannot read", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("configuration {}", path.display()))
    }

    pub fn from_toml(text: &str) -> Result<Config> {
        let mut merged: toml::Table = toml::from_str(DEFAULT_CONFIG)?;
        let overlay: toml::Table = toml::from_str(text)?;
        merge(&mut merged, overlay);
        let config: Config = merged.try_into()?;
        config.directory()?;
        config.role_catalog()?;
        config.auth_policy()?;
        UserId::new(config.auth.bootstrap_admin.as_str()).context("auth.bootstrap_admin")?;
        Ok(config)
    }

    /// `database.url`, or SQLite in the data directory when empty.
    pub fn database_url(&self) -> String {
        if self.database.url.trim().is_empty() {
            format!("sqlite://{}", self.data_dir.join("kuzet.db").display())
        } else {
            self.database.url.trim().to_owned()
        }
    }

    /// The default roles plus `[[roles]]`.
    pub fn role_catalog(&self) -> Result<RoleCatalog> {
        let mut catalog = RoleCatalog::default();
        for role in &self.roles {
            let reach = match role.reach.as_str() {
                "all" => TenantReach::All,
                "assigned" => TenantReach::Assigned,
                "granted" => TenantReach::Granted,
                other => bail!(
                    "role `{}`: reach `{other}` must be all, assigned or granted",
                    role.name
                ),
            };
            catalog.define(&role.name, reach, &role.permissions)?;
        }
        Ok(catalog)
    }

    pub fn auth_policy(&self) -> Result<AuthPolicy> {
        let a = &self.auth;
        if a.lockout_threshold == 0 {
            bail!(
                "auth.lockout_threshold must be at least 1: without it password guessing is unbounded"
            );
        }
        if a.min_password_length < 8 {
            bail!(
                "auth.min_password_length {} is below 8",
                a.min_password_length
            );
        }
        if a.session_idle.0 > a.session_lifetime.0 || a.session_lifetime.0.is_zero() {
            bail!("auth.session_idle must be positive and at most auth.session_lifetime");
        }
        let defaults = AuthPolicy::default();
        Ok(AuthPolicy {
            password: PasswordPolicy {
                min_length: a.min_password_length,
                ..defaults.password.clone()
            },
            lockout_threshold: a.lockout_threshold,
            lockout_duration: a.lockout_duration.0,
            session_lifetime: a.session_lifetime.0,
            session_idle: a.session_idle.0,
            token_max_lifetime: a.token_max_lifetime.0,
            ..defaults
        })
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.data_dir.join("archive")
    }

    /// The hot search index (`docs/formats/index.md`): derived from the archive, rebuilt when deleted.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// Tenants, facilities and sources, checked for dangling references and shared identities.
    pub fn directory(&self) -> Result<Directory> {
        let mut tenants = Vec::new();
        let mut facilities = Vec::new();
        let mut sources = Vec::new();
        for tenant in &self.tenants {
            let tenant_id = TenantId::new(&tenant.id)?;
            tenants.push(Tenant {
                id: tenant_id.clone(),
                name: tenant.name.clone(),
                sector: tenant
                    .sector
                    .as_deref()
                    .map(kuzet_model::Sector::parse)
                    .transpose()
                    .with_context(|| format!("tenant `{}`", tenant.id))?,
            });
            for facility in &tenant.facilities {
                facilities.push(Facility {
                    id: FacilityId::new(&facility.id)?,
                    tenant: tenant_id.clone(),
                    name: facility.name.clone(),
                    class: FacilityClass::from_number(facility.class)
                        .with_context(|| format!("facility `{}`", facility.id))?,
                    critical: facility.critical,
                });
            }
            for source in &tenant.sources {
                sources.push(source.build(&tenant_id)?);
            }
        }
        Ok(Directory::new(tenants, facilities, sources)?)
    }
}

impl SourceConfig {
    fn build(&self, tenant: &TenantId) -> Result<Source> {
        let context = || format!("source `{}`", self.id);
        let format = FormatHint::parse_name(&self.format).ok_or_else(|| {
            anyhow!(
                "source `{}`: unknown format `{}` (auto, syslog, json, cef, leef, evtx, text)",
                self.id,
                self.format
            )
        })?;
        let mut identities = Vec::new();
        for peer in &self.peers {
            let net = match peer.parse::<ipnet::IpNet>() {
                Ok(net) => net,
                Err(_) => ipnet::IpNet::from(
                    peer.parse::<std::net::IpAddr>()
                        .map_err(|_| anyhow!("peer `{peer}`: not an address or a CIDR range"))
                        .with_context(context)?,
                ),
            };
            identities.push(SourceIdentity::Peer(net));
        }
        identities.extend(
            self.tls_common_names
                .iter()
                .map(|cn| SourceIdentity::TlsCommonName(cn.clone())),
        );
        for fingerprint in &self.tls_fingerprints {
            let hex: String = fingerprint.chars().filter(|c| *c != ':').collect();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "source `{}`: tls fingerprint `{fingerprint}` is not a SHA-256 in hex",
                    self.id
                );
            }
            identities.push(SourceIdentity::TlsFingerprint(hex.to_ascii_lowercase()));
        }
        for token in &self.token_sha256 {
            if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "source `{}`: token_sha256 `{token}` is not a SHA-256 in hex (store the hash, never the token)",
                    self.id
                );
            }
            identities.push(SourceIdentity::TokenSha256(token.to_ascii_lowercase()));
        }
        Ok(Source {
            id: SourceId::new(&self.id)?,
            tenant: tenant.clone(),
            facility: self
                .facility
                .as_deref()
                .map(FacilityId::new)
                .transpose()
                .with_context(context)?,
            name: if self.name.is_empty() {
                self.id.clone()
            } else {
                self.name.clone()
            },
            identities,
            format,
            expected_interval_secs: self.expected_interval.map(|d| d.std().as_secs()),
        })
    }
}

/// Parses an optional listener address: empty means "off".
pub fn listen_address(key: &str, value: &str) -> Result<Option<SocketAddr>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| anyhow!("{key} = `{value}`: not a host:port address"))
}

pub fn optional_path(value: &str) -> Option<PathBuf> {
    (!value.trim().is_empty()).then(|| PathBuf::from(value))
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(overlay_table)) => {
                merge(base_table, overlay_table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses_and_has_no_tenants() {
        let config = Config::default();
        assert_eq!(config.ingest.max_message_bytes, 65536);
        assert_eq!(config.time.max_skew.std().as_secs(), 300);
        assert!(config.tenants.is_empty());
    }

    #[test]
    fn roles_and_auth_are_configured_and_legal_guarantees_cannot_be_configured_away() {
        let config = Config::from_toml(
            "[[roles]]\nname = \"junior-analyst\"\nreach = \"assigned\"\npermissions = [\"events.read\"]\n",
        )
        .unwrap();
        let catalog = config.role_catalog().unwrap();
        assert!(catalog.get("junior-analyst").is_some() && catalog.get("isoc-admin").is_some());
        assert_eq!(config.database_url(), "sqlite:///var/lib/kuzet/kuzet.db");
        let purge = Config::from_toml(
            "[[roles]]\nname = \"cleaner\"\nreach = \"all\"\npermissions = [\"archive.purge\"]\n",
        )
        .unwrap_err();
        assert!(format!("{purge:#}").contains("R4"), "{purge:#}");
        let typo =
            Config::from_toml("[[roles]]\nname = \"x\"\nreach = \"everyone\"\npermissions = []\n")
                .unwrap_err();
        assert!(format!("{typo:#}").contains("reach `everyone`"), "{typo:#}");
        let unbounded = Config::from_toml("[auth]\nlockout_threshold = 0\n").unwrap_err();
        assert!(
            format!("{unbounded:#}").contains("lockout_threshold"),
            "{unbounded:#}"
        );
        // There is no switch for sealing or auditing: an attempt to add one is an unknown key.
        let off = Config::from_toml("[audit]\nenabled = false\n").unwrap_err();
        assert!(format!("{off:#}").contains("audit"), "{off:#}");
    }

    #[test]
    fn overlay_keeps_defaults_and_refuses_unknown_keys() {
        let config = Config::from_toml("data_dir = \"/tmp/k\"\n[store]\nzstd_level = 9\n").unwrap();
        assert_eq!(config.store.zstd_level, 9);
        assert_eq!(config.store.block_bytes, 1_048_576);
        let err = Config::from_toml("[store]\nzstd_levle = 9\n").unwrap_err();
        assert!(format!("{err:#}").contains("zstd_levle"), "{err:#}");
    }

    #[test]
    fn sources_become_a_directory() {
        let config = Config::from_toml(
            r#"
            [[tenants]]
            id = "akimat"
            name = "Akimat"
            [[tenants.facilities]]
            id = "portal"
            name = "Portal"
            class = 1
            critical = true
            [[tenants.sources]]
            id = "linux"
            facility = "portal"
            peers = ["10.0.0.0/24", "10.1.1.1"]
            expected_interval = "10m"
            "#,
        )
        .unwrap();
        let dir = config.directory().unwrap();
        let source = dir.source_by_peer("10.1.1.1".parse().unwrap()).unwrap();
        assert_eq!(source.tenant.as_str(), "akimat");
        assert_eq!(source.expected_interval_secs, Some(600));
    }

    #[test]
    fn bad_values_name_the_object() {
        let err = Config::from_toml(
            "[[tenants]]\nid = \"a\"\nname = \"A\"\n[[tenants.sources]]\nid = \"s\"\npeers = [\"nonsense\"]\n",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("peer `nonsense`"), "{err:#}");
        let err = parse_duration("5 parsecs").unwrap_err();
        assert!(err.to_string().contains("duration `5 parsecs`"));
        assert_eq!(parse_duration("62d").unwrap().std().as_secs(), 62 * 86400);
    }
}
