//! What the handlers share: the database, the audit sink, the archive to read sealed events from, the clock.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use kuzet_db::{Db, IncidentRules};
use kuzet_model::Directory;

use crate::AuditSink;

/// The console session cookie: HttpOnly, Secure, SameSite=Strict.
pub const SESSION_COOKIE: &str = "kuzet_session";

/// The time source (a parameter, so that tests move time without sleeping).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Called with the new directory after the API changed a source or its identities, so that the listeners attribute
/// with it at once.
pub type DirectoryChanged = Arc<dyn Fn(Directory) + Send + Sync>;

/// Counters of the service (no tenant content) for `GET /api/v1/system/status`.
pub type ServiceStatus = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// What the process has seen of one source since it started (kept in memory by the binary): for the overview.
#[derive(Debug, Clone)]
pub struct SourceSeen {
    pub tenant: kuzet_model::TenantId,
    pub source: kuzet_model::SourceId,
    pub events: u64,
    pub last_seen: Option<Timestamp>,
    /// How far the source's clock is from Kazakhstan's (its `@timestamp` against receipt), smoothed.
    pub clock_offset_ms: i64,
}

/// Every source's [`SourceSeen`], and the clock skew beyond which a source is drifting.
#[derive(Clone)]
pub struct SourcesSeen {
    pub read: Arc<dyn Fn() -> Vec<SourceSeen> + Send + Sync>,
    pub max_skew: jiff::SignedDuration,
}

/// How many archive lookups run at once.
const ARCHIVE_READERS: usize = 4;

#[derive(Clone)]
pub struct ApiState {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub db: Db,
    pub audit: Arc<dyn AuditSink>,
    pub archive_dir: PathBuf,
    /// Derives events from the raw events the archive keeps (format 2): the binary passes its parser.
    pub normalizer: kuzet_store::Normalize,
    pub clock: Clock,
    pub directory_changed: Option<DirectoryChanged>,
    pub status: Option<ServiceStatus>,
    pub secure_cookies: bool,
    pub rules: Arc<IncidentRules>,
    /// Lookups in the archive (an event, a proof, the audit trail) running at once on the blocking pool: more
    /// wait their turn, so a burst of lookups cannot take every blocking thread or the disk.
    pub archive_readers: Arc<tokio::sync::Semaphore>,
    /// Login attempts per (name, address) and per address (`throttle.rs`).
    pub login_throttle: Arc<crate::throttle::LoginThrottle>,
    /// The hot search index, when the server keeps one; searches scan the archive without it.
    pub index: Option<kuzet_index::IndexSearcher>,
    /// The indicators detection matches (and when it loaded them), when detection runs.
    pub indicators: Option<kuzet_detect::SharedIndicators>,
    /// This ISOC's party id (as the hub knows it): the producer of what it shares in STIX.
    pub party: String,
    /// Each source's traffic and clock as the process saw it, when it keeps them.
    pub sources_seen: Option<SourcesSeen>,
}

impl ApiState {
    /// `archive_dir` is the sealed archive (`DATA_DIR/archive`), read for events, exports and audit records.
    /// `rules` are the calendar, response plan and rubric incidents are judged by; `normalizer` derives the
    /// events an export or an event view shows from what the archive keeps.
    pub fn new(
        db: Db,
        audit: Arc<dyn AuditSink>,
        archive_dir: PathBuf,
        clock: Clock,
        rules: IncidentRules,
        normalizer: kuzet_store::Normalize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                audit,
                archive_dir,
                normalizer,
                clock,
                directory_changed: None,
                status: None,
                secure_cookies: true,
                rules: Arc::new(rules),
                archive_readers: Arc::new(tokio::sync::Semaphore::new(ARCHIVE_READERS)),
                login_throttle: Arc::default(),
                index: None,
                sources_seen: None,
                indicators: None,
                party: "isoc".to_owned(),
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        change(Arc::make_mut(&mut self.inner));
        self
    }

    pub fn on_directory_change(self, hook: DirectoryChanged) -> Self {
        self.with(|i| i.directory_changed = Some(hook))
    }

    /// Searches answer from this index (`kuzet-index`) instead of scanning the archive.
    pub fn with_index(self, index: kuzet_index::IndexSearcher) -> Self {
        self.with(|i| i.index = Some(index))
    }

    /// The indicators detection matches, for `GET /api/v1/indicators` and the STIX collections.
    pub fn with_indicators(self, indicators: kuzet_detect::SharedIndicators) -> Self {
        self.with(|i| i.indicators = Some(indicators))
    }

    /// This ISOC's party id, as the hub knows it (`[exchange] party`): who produced what it shares.
    pub fn with_party(self, party: &str) -> Self {
        if party.trim().is_empty() {
            return self;
        }
        self.with(|i| i.party = party.to_owned())
    }

    /// The overview shows each source's health from what the process saw.
    pub fn with_sources_seen(self, seen: SourcesSeen) -> Self {
        self.with(|i| i.sources_seen = Some(seen))
    }

    pub fn with_status(self, status: ServiceStatus) -> Self {
        self.with(|i| i.status = Some(status))
    }

    /// Cookies without `Secure`, for a console reached over plain HTTP on loopback during development only.
    pub fn insecure_cookies(self) -> Self {
        self.with(|i| i.secure_cookies = false)
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.inner.clock)()
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Hands the listeners the database's directory after a change made through the API.
    pub(crate) async fn directory_changed(&self) {
        if let Some(hook) = &self.inner.directory_changed {
            match self.inner.db.system_load_directory().await {
                Ok(directory) => hook(directory),
                Err(error) => {
                    tracing::error!(%error, "directory reload after an API change failed")
                }
            }
        }
    }
}
