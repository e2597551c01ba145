//! `kuzet serve`: listeners → write-ahead log → parser → sealed archive, with `/metrics`, `/health` and `/ready`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kuzet_ingest::{
    BoundAddresses, Ingest, IngestConfig, SharedDirectory, Sink, SinkError, TlsConfig,
    UdpUnattributed,
};
use kuzet_model::{RawEvent, SourceId};
use kuzet_parse::ParseOptions;
use kuzet_store::{BackupTarget, Store, StoreConfig, StoreError, WalHandle};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::health::SourceHealth;

/// The listeners' sink: the write-ahead log.
/// The listeners' sink: the write-ahead log, behind the disk guard (`disk.rs`).
#[derive(Clone)]
pub struct WalSink {
    pub wal: WalHandle,
    pub disk: Option<crate::disk::DiskGuard>,
}

fn sink_error(error: StoreError) -> SinkError {
    match error {
        StoreError::QueueFull => SinkError::Full,
        e @ StoreError::EventTooLarge { .. } => SinkError::TooLarge(e.to_string()),
        other => SinkError::Unavailable(other.to_string()),
    }
}

impl Sink for WalSink {
    async fn append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        if let Some(disk) = &self.disk {
            // Hold the sender (TCP, TLS: its socket is not read) until there is room.
            disk.room(batch.len()).await;
        }
        self.wal.append(batch).await.map_err(sink_error)
    }

    async fn try_append(&self, batch: Vec<RawEvent>) -> Result<(), SinkError> {
        if let Some(disk) = &self.disk
            && disk.refusing().is_some()
        {
            disk.count_refused(batch.len());
            return Err(SinkError::Full);
        }
        self.wal.try_append(batch).await.map_err(sink_error)
    }
}

pub fn store_config(config: &Config) -> StoreConfig {
    let section = &config.store;
    StoreConfig {
        data_dir: config.data_dir.clone(),
        wal_queue_batches: section.wal_queue_batches,
        wal_segment_bytes: section.wal_segment_bytes,
        block_bytes: section.block_bytes,
        block_max_age: section.block_max_age.std(),
        segment_bytes: section.segment_bytes,
        day_offset: section.day_offset.std(),
        zstd_level: section.zstd_level,
        backup: config::optional_path(&section.backup_dir).map(BackupTarget::Directory),
        seal_workers: match section.seal_workers {
            0 => StoreConfig::new(&config.data_dir).seal_workers,
            n => n,
        },
        consumer_buffer_events: section.consumer_buffer_events,
    }
}

pub fn parse_options(config: &Config) -> ParseOptions {
    ParseOptions {
        max_skew: config.time.max_skew.0,
        ..ParseOptions::default()
    }
}

/// The parser as the store's normalizer: each record is derived with the options its profile names (those of
/// the release and configuration that sealed it), and `health`, when given, sees every batch sealed live.
pub struct Parser {
    options: ParseOptions,
    profile: String,
    health: Option<SourceHealth>,
}

impl Parser {
    pub fn new(options: ParseOptions, health: Option<SourceHealth>) -> Self {
        Self {
            profile: options.profile(),
            options,
            health,
        }
    }

    /// A parser for readers of the archive (export, hunt, proofs).
    pub fn reader(config: &Config) -> kuzet_store::Normalize {
        Arc::new(Self::new(parse_options(config), None))
    }
}

impl kuzet_store::Normalizer for Parser {
    fn profile(&self) -> String {
        self.profile.clone()
    }

    fn normalize(&self, raw: &RawEvent, profile: &str) -> kuzet_model::Event {
        if profile == self.profile {
            return kuzet_parse::parse(raw, &self.options);
        }
        let options = ParseOptions::from_profile(profile).unwrap_or_else(|| self.options.clone());
        kuzet_parse::parse(raw, &options)
    }

    fn observe(&self, events: &[kuzet_model::Event]) {
        if let Some(health) = &self.health {
            health.observe(events);
        }
    }
}

/// Opens the store with the parser as its normalizer and `health` observing every parsed batch.
/// For a command that writes without the server: the data directory locked (held as long as the file lives) and
/// the store opened with the configuration's parser.
pub fn open_store_locked(config: &Config) -> Result<(std::fs::File, Store)> {
    let lock = lock_data_dir(config)?;
    let store = open_store(config, parse_options(config), SourceHealth::default())?;
    Ok((lock, store))
}

pub fn open_store(config: &Config, options: ParseOptions, health: SourceHealth) -> Result<Store> {
    if !config.signing_key.exists() {
        return Err(anyhow!(
            "signing key {}: not found; run `kuzet init` first",
            config.signing_key.display()
        ));
    }
    kuzet_store::keys::check_key_outside(&config.signing_key, &config.data_dir)?;
    let signer = kuzet_store::keys::read_signing_key(&config.signing_key)?;
    let normalizer: kuzet_store::Normalize = Arc::new(Parser::new(options, Some(health)));
    Store::open(store_config(config), signer, normalizer)
        .with_context(|| format!("store in {}", config.data_dir.display()))
}

pub fn ingest_config(config: &Config) -> Result<IngestConfig> {
    let section = &config.ingest;
    let tls = match (
        config::optional_path(&section.tls_certificate),
        config::optional_path(&section.tls_key),
    ) {
        (Some(cert_path), Some(key_path)) => Some(TlsConfig {
            cert_path,
            key_path,
            client_ca_path: config::optional_path(&section.tls_client_ca),
            require_client_cert: section.tls_client_certificate_required,
        }),
        (None, None) => None,
        _ => return Err(anyhow!("ingest: tls_certificate and tls_key go together")),
    };
    Ok(IngestConfig {
        syslog_udp: config::listen_address("ingest.syslog_udp", &section.syslog_udp)?,
        syslog_tcp: config::listen_address("ingest.syslog_tcp", &section.syslog_tcp)?,
        syslog_tls: config::listen_address("ingest.syslog_tls", &section.syslog_tls)?,
        http: config::listen_address("ingest.http", &section.http)?,
        tls,
        max_message_bytes: section.max_message_bytes,
        max_connections: section.max_connections,
        max_connections_per_peer: section.max_connections_per_peer,
        idle_timeout: section.idle_timeout.std(),
        shutdown_grace: section.shutdown_grace.std(),
        max_batch_events: section.max_batch_events,
        batch_linger: section.batch_linger.std(),
        http_max_body_bytes: section.http_max_body_bytes,
        http_max_decompressed_bytes: section.http_max_decompressed_bytes,
        udp_unattributed: if section.udp_unattributed_source.trim().is_empty() {
            UdpUnattributed::Refuse
        } else {
            UdpUnattributed::DefaultSource(SourceId::new(section.udp_unattributed_source.trim())?)
        },
        ..IngestConfig::default()
    })
}

/// What the HTTP handlers of `/metrics`, `/health` and `/ready` read.
#[derive(Clone)]
struct Telemetry {
    prometheus: PrometheusHandle,
    store: kuzet_store::StatsHandle,
    health: SourceHealth,
    /// What an operator must fix though the service runs (health turns `warning`).
    warnings: Arc<Vec<String>>,
    ready: Arc<AtomicBool>,
    detection: Option<crate::detection::DetectionStatus>,
    index: Option<crate::indexing::IndexStatus>,
    disk: crate::disk::DiskGuard,
    notifications: crate::notify::BacklogStatus,
    exchange: crate::notify::BacklogStatus,
}

async fn metrics_handler(State(t): State<Telemetry>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        t.prometheus.render(),
    )
}

async fn health_handler(State(t): State<Telemetry>) -> impl IntoResponse {
    let stats = t.store.stats();
    // A refusing disk is red: the service takes no new events.
    let failure = t.store.failure().or_else(|| t.disk.refusing());
    let mut warnings: Vec<String> = t.warnings.to_vec();
    warnings.extend(t.disk.warning());
    let (notifications, late) = t.notifications.get(jiff::Timestamp::now());
    warnings.extend(late);
    let (exchange, late) = t.exchange.get(jiff::Timestamp::now());
    warnings.extend(late);
    let sources: Vec<_> = t
        .health
        .snapshot()
        .into_iter()
        .map(|(id, state)| {
            serde_json::json!({
                "source": id.as_str(),
                "tenant": state.tenant,
                "events": state.events,
                "events_with_parse_issues": state.events_with_issues,
                "last_seen": state.last_seen.map(|t| t.to_string()),
                "clock_offset_ms": state.clock.offset_ms(),
            })
        })
        .collect();
    let status = if failure.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let index = t.index.as_ref().map_or_else(
        || serde_json::json!({"enabled": false, "failure": null}),
        crate::indexing::IndexStatus::get,
    );
    // A stopped index loses nothing (the events stay sealed and are indexed at the next start) but search is
    // stale: a warning, not a failure.
    let index_failed = !index["failure"].is_null();
    let body = axum::Json(serde_json::json!({
        "status": if failure.is_some() {
            "failed"
        } else if warnings.is_empty() && !index_failed {
            "ok"
        } else {
            "warning"
        },
        "reason": failure,
        "warnings": warnings,
        "store": {
            "wal_appended": stats.wal_appended,
            "sealed_events": stats.sealed_events,
            "wal_queue_depth": stats.queue_depth,
            "backup_errors": stats.backup_errors,
        },
        "disk": {
            "free_bytes": t.disk.reading().free,
            "total_bytes": t.disk.reading().total,
            "refused_events": t.disk.refused(),
        },
        "sources": sources,
        "detection": t.detection.as_ref().map_or_else(
            || serde_json::json!({"enabled": false}),
            crate::detection::DetectionStatus::get,
        ),
        "index": index,
        "notifications": notifications,
        "exchange": exchange,
    }));
    (status, body)
}

async fn ready_handler(State(t): State<Telemetry>) -> impl IntoResponse {
    if let Some(reason) = t.store.failure() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("failed: {reason}\n"),
        )
    } else if t.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n".to_owned())
    }
}

/// What a caller of [`run_with`] gets once every listener is bound.
pub struct Ready {
    pub addresses: BoundAddresses,
    /// Cancel to stop the server (as SIGTERM does).
    pub shutdown: CancellationToken,
    pub store_stats: Arc<dyn Fn() -> kuzet_store::StoreStats + Send + Sync>,
}

/// What a server is: an ISOC, or also the NCCIS hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Isoc,
    Nccis,
}

impl Role {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "isoc" => Ok(Role::Isoc),
            "nccis" => Ok(Role::Nccis),
            other => Err(anyhow!("--role `{other}`: expected isoc or nccis")),
        }
    }
}

/// Runs as `role` until SIGINT or SIGTERM.
pub fn run_as(config: Config, role: Role) -> Result<()> {
    run_role(config, role, |_| {})
}

/// Runs until SIGINT or SIGTERM; `on_ready` is called once every listener is bound (the demo starts its traffic
/// generator there).
pub fn run_with(config: Config, on_ready: impl FnOnce(Ready) + Send + 'static) -> Result<()> {
    run_role(config, Role::Isoc, on_ready)
}

fn run_role(
    config: Config,
    role: Role,
    on_ready: impl FnOnce(Ready) + Send + 'static,
) -> Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("metrics recorder")?;
    let _lock = lock_data_dir(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kuzet-io")
        .build()
        .context("async runtime")?;
    // The database holds the directory: the configuration file's tenants and sources, and those made through the API.
    let (db, directory) = runtime.block_on(async {
        let db = crate::identity::open_db(&config).await?;
        let directory = crate::identity::apply_directory(&db, &config).await?;
        anyhow::Ok((db, directory))
    })?;
    let health = SourceHealth::new(&directory);
    let store = open_store(&config, parse_options(&config), health.clone())?;
    for (tenant, recovery) in store.recovery() {
        tracing::warn!(%tenant, ?recovery, "archive recovered at start-up");
    }
    let shutdown = CancellationToken::new();
    let shared_directory = SharedDirectory::new(directory);
    let detection = crate::detection::start(
        &config,
        &store,
        db.clone(),
        shared_directory.clone(),
        runtime.handle().clone(),
    )?;
    let indexing = if config.search.index {
        let db = db.clone();
        let handle = runtime.handle().clone();
        Some(crate::indexing::start(
            &config,
            &store,
            Box::new(move || Ok(handle.block_on(db.system_retentions())?)),
        )?)
    } else {
        None
    };
    let expiry = {
        let db = db.clone();
        let handle = runtime.handle().clone();
        crate::expiry::ExpiryJob::start(
            &config,
            &store,
            Box::new(move || Ok(handle.block_on(db.system_retentions())?)),
        )?
    };
    let served = runtime.block_on(async {
        let section = &config.store;
        let (warn, refuse) = (section.disk_warn_free_percent, section.disk_refuse_free_percent);
        if !(0.0..=100.0).contains(&refuse) || !(refuse..=100.0).contains(&warn) {
            anyhow::bail!(
                "[store] disk_refuse_free_percent {refuse} and disk_warn_free_percent {warn}: expected 0 ≤ refuse ≤ warn ≤ 100"
            );
        }
        let disk = crate::disk::DiskGuard::start(
            &config.data_dir,
            warn,
            refuse,
            section.disk_check_interval.std(),
        );
        let ingest = Ingest::new(
            ingest_config(&config)?,
            shared_directory.clone(),
            WalSink {
                wal: store.wal(),
                disk: Some(disk.clone()),
            },
        )?;
        let listeners = ingest.bind().await?;
        let addresses = listeners.addresses();
        let ready = Arc::new(AtomicBool::new(false));
        let store_stats: Arc<dyn Fn() -> kuzet_store::StoreStats + Send + Sync> = {
            let handle = store.stats_handle();
            Arc::new(move || handle.stats())
        };
        let rules = kuzet_db::IncidentRules {
            owner_notification_grace: jiff::SignedDuration::try_from(
                config.incidents.owner_notification_grace.std(),
            )?,
            ..kuzet_db::IncidentRules::embedded()?
        };
        let warnings = calendar_warnings(&rules, jiff::Timestamp::now());
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        let telemetry = Telemetry {
            prometheus,
            store: store.stats_handle(),
            health,
            warnings: Arc::new(warnings),
            ready: Arc::clone(&ready),
            detection: detection.as_ref().map(crate::detection::Detection::status),
            index: indexing.as_ref().map(crate::indexing::Indexing::status),
            disk: disk.clone(),
            notifications: crate::notify::BacklogStatus::new(
                "notification(s)",
                "GET /api/v1/tenants/{t}/notifications",
            ),
            exchange: crate::notify::BacklogStatus::new(
                "NCCIS message(s)",
                "GET /api/v1/tenants/{t}/exchange and [exchange] in the configuration",
            ),
        };
        tokio::spawn(crate::detection::watch_sources(
            db.clone(),
            telemetry.health.clone(),
            shared_directory.clone(),
            config.detection.source_check_interval.std(),
            jiff::SignedDuration::try_from(config.time.max_skew.std())?,
            jiff::SignedDuration::try_from(config.detection.dedup_window.std())?,
        ));
        tokio::spawn(crate::clocks::run(db.clone(), shutdown.clone()));
        if config.detection.enabled && !config.detection.taxii.is_empty() {
            tokio::spawn(crate::intel::run_pulls(
                config.detection.taxii.clone(),
                audit_sink(&store)?,
                shutdown.clone(),
            ));
        }
        tokio::spawn(crate::notify::run(
            db.clone(),
            crate::notify::Notifier::new(&config.notify)?,
            audit_sink(&store)?,
            config.notify.interval.std(),
            telemetry.notifications.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(crate::exchange::run(
            db.clone(),
            crate::exchange::Sender::new(&config.exchange)?,
            audit_sink(&store)?,
            config.exchange.interval.std(),
            telemetry.exchange.clone(),
            shutdown.clone(),
        ));
        let hub = match role {
            Role::Isoc => None,
            Role::Nccis => {
                let listener =
                    crate::hub::HubListener::bind(&config.hub, shutdown.clone()).await?;
                let address = listener.local_addr();
                let served = tokio::spawn({
                    let (section, db, shutdown) = (config.hub.clone(), db.clone(), shutdown.clone());
                    let audit = audit_sink(&store)?;
                    async move { crate::hub::serve(listener, &section, db, audit, shutdown).await }
                });
                tokio::spawn(crate::hub::escalate(
                    db.clone(),
                    crate::notify::Notifier::new(&config.notify)?,
                    crate::hub::escalation_targets(&config.hub)?,
                    audit_sink(&store)?,
                    config.notify.interval.std(),
                    shutdown.clone(),
                ));
                Some((address, served))
            }
        };
        let api = api_state(
            &config,
            db,
            &store,
            shared_directory,
            Arc::clone(&store_stats),
            rules,
            disk.clone(),
        )?
;
        let api = match &indexing {
            Some(indexing) => api.with_index(indexing.searcher()),
            None => api,
        };
        let api = api.with_party(&config.exchange.party);
        let api = match &detection {
            Some(detection) => api.with_indicators(detection.indicators()),
            None => api,
        };
        // The overview's source health: what the sealer saw of each source, and the skew that counts as drift.
        let seen = telemetry.health.clone();
        let api = api.with_sources_seen(kuzet_api::SourcesSeen {
            read: Arc::new(move || {
                seen.snapshot()
                    .into_iter()
                    .filter_map(|(source, state)| {
                        Some(kuzet_api::SourceSeen {
                            tenant: kuzet_model::TenantId::new(state.tenant.as_str()).ok()?,
                            source,
                            events: state.events,
                            last_seen: state.last_seen,
                            clock_offset_ms: state.clock.offset_ms(),
                        })
                    })
                    .collect()
            }),
            max_skew: jiff::SignedDuration::try_from(config.time.max_skew.std()).unwrap_or(jiff::SignedDuration::MAX),
        });
        let api = kuzet_api::router(api);
        let routes = Router::new()
            .route("/metrics", get(metrics_handler))
            .route("/health", get(health_handler))
            .route("/ready", get(ready_handler))
            .with_state(telemetry);
        // The console calls the API in-process, as each person's browser would, and is served beside it.
        let routes = if config.console.enabled {
            let options = kuzet_console::ConsoleOptions {
                demo: config.console.demo,
                hub: hub.is_some(),
                secure_cookies: config.auth.secure_cookies,
                // The browser's address, for the API's login throttle and audit records.
                forward: Some(Arc::new(|from: &axum::http::Extensions| {
                    let mut to = axum::http::Extensions::new();
                    if let Some(peer) = from.get::<axum::extract::ConnectInfo<kuzet_ingest::HttpPeer>>() {
                        to.insert(*peer);
                    }
                    to
                })),
            };
            routes.merge(kuzet_console::router(api.clone(), options))
        } else {
            routes
        };
        let routes = routes.merge(api);
        tokio::spawn(signal_task(shutdown.clone())?);
        announce(&addresses, hub.as_ref().map(|(address, _)| *address))?;
        ready.store(true, Ordering::Release);
        on_ready(Ready {
            addresses,
            shutdown: shutdown.clone(),
            store_stats,
        });
        listeners.serve(routes, shutdown.clone()).await?;
        if let Some((_, served)) = hub {
            served.await.context("hub listener")??;
        }
        anyhow::Ok(())
    });
    // No expiry after this: its audit records go through the store.
    expiry.stop();
    // The listeners have handed over their last batches; seal everything and write the final checkpoint even when
    // serving failed, so that nothing acknowledged waits for a replay.
    let closed = store.shutdown().context("store shutdown");
    // Detection finishes what was sealed before the store stopped, then stops.
    if let Some(detection) = detection {
        detection.join();
    }
    // The index commits what was sealed before the store stopped, then stops.
    if let Some(indexing) = indexing {
        indexing.join();
    }
    served.and(closed)?;
    tracing::info!("stopped; archive sealed");
    Ok(())
}

/// The API's state: the database, the audit trail through the WAL, the archive, the wall clock; changes of the
/// directory through the API reach the listeners at once.
fn api_state(
    config: &Config,
    db: kuzet_db::Db,
    store: &Store,
    directory: SharedDirectory,
    store_stats: Arc<dyn Fn() -> kuzet_store::StoreStats + Send + Sync>,
    rules: kuzet_db::IncidentRules,
    disk: crate::disk::DiskGuard,
) -> Result<kuzet_api::ApiState> {
    let audit = audit_sink(store)?;
    let clock: kuzet_api::Clock = Arc::new(jiff::Timestamp::now);
    tokio::spawn(periodic_obligations(db.clone(), rules.clone()));
    let state = kuzet_api::ApiState::new(
        db,
        audit,
        config.archive_dir(),
        clock,
        rules,
        Parser::reader(config),
    )
    .on_directory_change(Arc::new(move |d| directory.replace(d)))
    .with_status(Arc::new(move || {
        let s = store_stats();
        serde_json::json!({
            "wal_appended": s.wal_appended,
            "sealed_events": s.sealed_events,
            "wal_queue_depth": s.queue_depth,
            "checkpoints": s.checkpoints,
            "backup_errors": s.backup_errors,
            "failed": s.failed,
            "disk_free_bytes": disk.reading().free,
            "disk_total_bytes": disk.reading().total,
            "disk_refusing": disk.refusing().is_some(),
            "disk_warning": disk.warning(),
        })
    }));
    Ok(if config.auth.secure_cookies {
        state
    } else {
        state.insecure_cookies()
    })
}

/// The years the business calendar must hold for the regulatory clocks to run: this one and the next, in
/// Kazakhstan time. Each one missing is a warning for `/health` and the log.
fn calendar_warnings(rules: &kuzet_db::IncidentRules, now: jiff::Timestamp) -> Vec<String> {
    let year = kuzet_model::time::kz_local(now).year();
    let held = rules.calendar.years();
    [year, year + 1]
        .into_iter()
        .filter(|y| !held.contains(y))
        .map(|y| {
            format!(
                "the business calendar has no data for {y}: regulatory clocks of that year cannot be computed; \
                 add the year's file (docs/formats/calendar.md)"
            )
        })
        .collect()
}

/// Creates the periodic obligations (the quarterly incident report of each tenant, R20) at start-up and then
/// hourly, so that a new quarter's clock exists from its first hour.
async fn periodic_obligations(db: kuzet_db::Db, rules: kuzet_db::IncidentRules) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match db
            .system_ensure_periodic_obligations(jiff::Timestamp::now(), &rules)
            .await
        {
            Ok(0) => {}
            Ok(created) => tracing::info!(created, "periodic obligations created"),
            Err(error) => tracing::error!(%error, "periodic obligations could not be created"),
        }
    }
}

/// Prints one machine-readable line once every listener is bound: tests and scripts wait for it.
fn announce(addresses: &BoundAddresses, hub: Option<std::net::SocketAddr>) -> Result<()> {
    let show =
        |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_else(|| "off".into());
    let mut stdout = std::io::stdout().lock();
    write!(
        stdout,
        "kuzet ready: http={} syslog_udp={} syslog_tcp={} syslog_tls={}",
        show(addresses.http),
        show(addresses.syslog_udp),
        show(addresses.syslog_tcp),
        show(addresses.syslog_tls)
    )?;
    if let Some(hub) = hub {
        write!(stdout, " hub={hub}")?;
    }
    writeln!(stdout)?;
    stdout.flush()?;
    Ok(())
}

/// Registers SIGINT and SIGTERM handlers now — before the ready line is printed, so that a signal sent right after
/// it is never lost to the default action — and returns the task that waits for them.
fn signal_task(shutdown: CancellationToken) -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
            _ = shutdown.cancelled() => return,
        }
        tracing::info!("stopping: listeners close, the archive seals what was acknowledged");
        shutdown.cancel();
    })
}

/// One process at a time owns a data directory: two writers would interleave the WAL and the archive.
pub fn lock_data_dir(config: &Config) -> Result<std::fs::File> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "data directory {}: cannot create",
            config.data_dir.display()
        )
    })?;
    let path = config.data_dir.join("kuzet.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow!(
            "data directory {}: in use by another kuzet process (lock {})",
            config.data_dir.display(),
            path.display()
        )
    })?;
    Ok(file)
}

/// A sink that seals audit records through the store's write-ahead log, for a task of the server.
fn audit_sink(store: &Store) -> Result<Arc<dyn kuzet_api::AuditSink>> {
    Ok(Arc::new(kuzet_api::WalAudit::new(
        store.wal(),
        kuzet_ingest::IdGenerator::new()?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calendar_lacking_this_year_or_the_next_is_a_warning() {
        let rules = kuzet_db::IncidentRules::embedded().unwrap();
        let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
        assert!(calendar_warnings(&rules, at("2026-12-06T12:00:00Z")).is_empty());
        let warnings = calendar_warnings(&rules, at("2027-06-01T00:00:00Z"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("no data for 2028"), "{warnings:?}");
        // 31 December 2027 20:00 UTC is already 2028 in Astana: both missing.
        assert_eq!(
            calendar_warnings(&rules, at("2027-12-31T20:00:00Z")).len(),
            2
        );
    }
}
