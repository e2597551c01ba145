//! Wiring: the shared state of all listeners, binding, accept loops and shutdown.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use kuzet_model::Transport;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::attribution;
use crate::telemetry::RefuseReason;
use crate::{IdGenerator, IngestConfig, IngestError, IngestStats, SharedDirectory, Sink};

/// State every listener shares.
pub(crate) struct Shared<S> {
    pub config: IngestConfig,
    pub directory: SharedDirectory,
    pub sink: S,
    pub ids: IdGenerator,
    pub stats: Arc<IngestStats>,
    pub tls: Option<TlsAcceptor>,
    /// Each listener's own budget (syslog TCP, syslog TLS, HTTP): a flood on one cannot take the others' slots.
    connections: [Arc<Semaphore>; LISTENERS],
    /// Open connections per listener and peer address.
    peers: Mutex<HashMap<(usize, IpAddr), usize>>,
    /// Bodies of templates, pipelines and policies shippers installed through the Elastic probes, so that a
    /// shipper reading back what it wrote finds it: each tenant's own, at most 256 of at most 256 KiB each.
    pub elastic_objects: Mutex<RememberedObjects>,
}

/// (tenant, kind, name) → body.
pub(crate) type RememberedObjects =
    HashMap<(kuzet_model::TenantId, &'static str, String), serde_json::Value>;

/// The listeners, configured but not yet bound. Cheap to clone.
pub struct Ingest<S> {
    pub(crate) shared: Arc<Shared<S>>,
}

impl<S> Clone for Ingest<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: Sink> Ingest<S> {
    /// Checks the configuration and loads the TLS certificate and key.
    pub fn new(
        config: IngestConfig,
        directory: SharedDirectory,
        sink: S,
    ) -> Result<Self, IngestError> {
        if config.syslog_tls.is_some() && config.tls.is_none() {
            return Err(IngestError::Config(
                "syslog_tls is set but tls (certificate and key) is not".to_owned(),
            ));
        }
        if config.max_batch_events == 0 || config.max_connections == 0 {
            return Err(IngestError::Config(
                "max_batch_events and max_connections must be at least 1".to_owned(),
            ));
        }
        let tls = match &config.tls {
            Some(tls) => Some(TlsAcceptor::from(crate::tls::server_config(tls)?)),
            None => None,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                connections: std::array::from_fn(|_| {
                    Arc::new(Semaphore::new(config.max_connections))
                }),
                config,
                directory,
                sink,
                ids: IdGenerator::new()?,
                stats: Arc::new(IngestStats::default()),
                tls,
                peers: Mutex::new(HashMap::new()),
                elastic_objects: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn stats(&self) -> Arc<IngestStats> {
        Arc::clone(&self.shared.stats)
    }

    /// The HTTP ingest and Elastic-compatible routes, for the binary to merge its own (`/metrics`, `/health`)
    /// into. [`Listeners::serve`] serves it with connection limits and the idle timeout; a caller serving it
    /// elsewhere should use `into_make_service_with_connect_info::<SocketAddr>()` so events carry the peer.
    pub fn router(&self) -> Router {
        crate::http::router(self.clone())
    }

    /// Binds every configured listener, so that a port in use fails start-up rather than later.
    pub async fn bind(&self) -> Result<Listeners<S>, IngestError> {
        let config = &self.shared.config;
        let udp = match config.syslog_udp {
            Some(address) => Some(crate::udp::bind(address, config.udp_receive_buffer_bytes)?),
            None => None,
        };
        Ok(Listeners {
            ingest: self.clone(),
            udp,
            tcp: bind_tcp("syslog_tcp", config.syslog_tcp).await?,
            tls: bind_tcp("syslog_tls", config.syslog_tls).await?,
            http: bind_tcp("http", config.http).await?,
        })
    }
}

async fn bind_tcp(
    listener: &'static str,
    address: Option<SocketAddr>,
) -> Result<Option<TcpListener>, IngestError> {
    let Some(address) = address else {
        return Ok(None);
    };
    TcpListener::bind(address)
        .await
        .map(Some)
        .map_err(|source| IngestError::Bind {
            listener,
            address,
            source,
        })
}

/// Bound listeners, ready to serve.
pub struct Listeners<S> {
    ingest: Ingest<S>,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    tls: Option<TcpListener>,
    http: Option<TcpListener>,
}

/// The addresses actually bound (useful with port 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoundAddresses {
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_tls: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
}

impl<S: Sink> Listeners<S> {
    pub fn addresses(&self) -> BoundAddresses {
        BoundAddresses {
            syslog_udp: self.udp.as_ref().and_then(|s| s.local_addr().ok()),
            syslog_tcp: self.tcp.as_ref().and_then(|s| s.local_addr().ok()),
            syslog_tls: self.tls.as_ref().and_then(|s| s.local_addr().ok()),
            http: self.http.as_ref().and_then(|s| s.local_addr().ok()),
        }
    }

    /// Runs every listener until `shutdown` is cancelled, then lets open connections hand their last batch to the
    /// sink and returns. `extra_routes` are served on the HTTP listener beside the ingest routes.
    pub async fn serve(
        self,
        extra_routes: Router,
        shutdown: CancellationToken,
    ) -> Result<(), IngestError> {
        let tasks = TaskTracker::new();
        let shared = &self.ingest.shared;
        if let Some(socket) = self.udp {
            tasks.spawn(crate::udp::receive(
                Arc::clone(shared),
                socket,
                shutdown.clone(),
                tasks.clone(),
            ));
        }
        // Plain TCP and TLS accept the same way; the transport decides whether a handshake comes first.
        for (listener, transport) in [(self.tcp, Transport::Tcp), (self.tls, Transport::Tls)] {
            if let Some(listener) = listener {
                tasks.spawn(accept_loop(
                    Arc::clone(shared),
                    listener,
                    transport,
                    shutdown.clone(),
                    tasks.clone(),
                ));
            }
        }
        let mut result = Ok(());
        if let Some(listener) = self.http {
            let app = self.ingest.router().merge(extra_routes);
            let listener = crate::http_listener::HttpListener {
                listener,
                shared: Arc::clone(shared),
            };
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<crate::HttpPeer>(),
            )
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
            let grace = shared.config.shutdown_grace;
            // Answers in flight get `shutdown_grace` after the shutdown begins, not forever: a multi-gigabyte
            // export or a client reading one byte a minute must not hold the store open.
            let served = tokio::select! {
                served = serve => served,
                () = async {
                    shutdown.cancelled().await;
                    tokio::time::sleep(grace).await;
                } => {
                    tracing::warn!(?grace, "answers still in flight at shutdown were cut off");
                    Ok(())
                }
            };
            result = served.map_err(|source| IngestError::Io {
                listener: "http",
                source,
            });
        } else {
            shutdown.cancelled().await;
        }
        tasks.close();
        tasks.wait().await;
        result
    }
}

/// Binds and serves every configured listener until `shutdown` is cancelled.
pub async fn serve<S: Sink>(
    ingest: Ingest<S>,
    extra_routes: Router,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    ingest.bind().await?.serve(extra_routes, shutdown).await
}

/// Listeners with connection budgets of their own.
const LISTENERS: usize = 3;

/// The budget a connection of `transport` counts against: its listener's.
fn listener(transport: Transport) -> usize {
    match transport {
        Transport::Tcp => 0,
        Transport::Tls => 1,
        _ => 2,
    }
}

/// Holds a connection slot (of its listener, and per peer on that listener) until dropped.
pub(crate) struct ConnectionSlot<S> {
    shared: Arc<Shared<S>>,
    transport: Transport,
    key: (usize, IpAddr),
    _permit: OwnedSemaphorePermit,
}

impl<S> Drop for ConnectionSlot<S> {
    fn drop(&mut self) {
        let mut peers = match self.shared.peers.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(count) = peers.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                peers.remove(&self.key);
            }
        }
        self.shared.stats.connection_closed(self.transport);
    }
}

pub(crate) fn admit<S>(
    shared: &Arc<Shared<S>>,
    transport: Transport,
    ip: IpAddr,
) -> Option<ConnectionSlot<S>> {
    let key = (listener(transport), ip);
    let permit = Arc::clone(&shared.connections[key.0])
        .try_acquire_owned()
        .ok()?;
    {
        let mut peers = match shared.peers.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let count = peers.entry(key).or_insert(0);
        if *count >= shared.config.max_connections_per_peer {
            return None;
        }
        *count += 1;
    }
    shared.stats.connection_opened(transport);
    Some(ConnectionSlot {
        shared: Arc::clone(shared),
        transport,
        key,
        _permit: permit,
    })
}

async fn accept_loop<S: Sink>(
    shared: Arc<Shared<S>>,
    listener: TcpListener,
    transport: Transport,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                tasks.spawn(connection(
                    Arc::clone(&shared),
                    stream,
                    peer,
                    transport,
                    shutdown.clone(),
                ));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off a little instead of spinning on the error.
                tracing::warn!(listener = transport.as_str(), %error, "accept failed");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
                }
            }
        }
    }
}

async fn connection<S: Sink>(
    shared: Arc<Shared<S>>,
    stream: TcpStream,
    peer: SocketAddr,
    transport: Transport,
    shutdown: CancellationToken,
) {
    let Some(_slot) = admit(&shared, transport, peer.ip()) else {
        shared
            .stats
            .refused(transport, RefuseReason::TooManyConnections);
        return;
    };
    match (transport, &shared.tls) {
        (Transport::Tls, Some(acceptor)) => {
            let handshake =
                tokio::time::timeout(shared.config.idle_timeout, acceptor.accept(stream)).await;
            let stream = match handshake {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "tls handshake failed");
                    shared.stats.refused(transport, RefuseReason::Handshake);
                    return;
                }
                Err(_) => {
                    shared.stats.refused(transport, RefuseReason::IdleTimeout);
                    return;
                }
            };
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|der| der.as_ref().to_vec());
            let directory = shared.directory.load();
            let Some(who) =
                attribution::by_tls_client(&directory, certificate.as_deref(), peer.ip())
            else {
                refuse_unknown(&shared, transport, peer);
                return;
            };
            crate::stream::run(&shared, transport, stream, peer, who, &shutdown).await;
        }
        _ => {
            let directory = shared.directory.load();
            let Some(who) = attribution::by_peer(&directory, peer.ip()) else {
                refuse_unknown(&shared, transport, peer);
                return;
            };
            crate::stream::run(&shared, transport, stream, peer, who, &shutdown).await;
        }
    }
}

fn refuse_unknown<S>(shared: &Shared<S>, transport: Transport, peer: SocketAddr) {
    tracing::debug!(%peer, transport = transport.as_str(), "sender maps to no source; closed");
    shared.stats.refused(transport, RefuseReason::UnknownSource);
}
