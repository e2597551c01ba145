//! Syslog over UDP, TCP and TLS, end to end on loopback sockets into a memory sink.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{MemorySink, Running, directory, eventually, loopback, peer, source};
use kuzet_ingest::{DropReason, IngestConfig, RefuseReason, UdpUnattributed};
use kuzet_model::{FormatHint, SourceId, SourceIdentity, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

fn tcp_config() -> IngestConfig {
    IngestConfig {
        syslog_tcp: loopback(),
        syslog_udp: loopback(),
        ..IngestConfig::default()
    }
}

/// Listeners with one source of tenant `alpha`, attributed by the peer address 127.0.0.1.
async fn start_alpha(config: IngestConfig, source_id: &str) -> Running {
    Running::start(
        config,
        directory(vec![source(source_id, "alpha", vec![peer("127.0.0.1/32")])]),
    )
    .await
}

/// Connects from a chosen loopback address, so that tests can play several peers.
async fn connect_from(local: &str, server: std::net::SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads until the server closes; true if it did (end of stream or reset) rather than send something.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte).await, Ok(0) | Err(_))
}

#[tokio::test]
async fn tcp_lf_and_octet_counted_streams_land_in_the_peers_tenant() {
    let running = Running::start(
        tcp_config(),
        directory(vec![
            source("web", "alpha", vec![peer("127.0.0.1/32")]),
            source("db", "beta", vec![peer("127.0.0.2/32")]),
        ]),
    )
    .await;
    let server = running.addresses.syslog_tcp.unwrap();

    let mut lf = connect_from("127.0.0.1", server).await;
    lf.write_all(b"<13>one\n<13>two\r\n").await.unwrap();
    lf.shutdown().await.unwrap();
    running.sink.wait_for_events(2).await;

    let mut octets = connect_from("127.0.0.2", server).await;
    octets
        .write_all(b"9 <13>three10 <13>four\n!")
        .await
        .unwrap();
    octets.shutdown().await.unwrap();
    running.sink.wait_for_events(4).await;

    let events = running.sink.events();
    let summary: Vec<(String, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                String::from_utf8_lossy(&e.bytes).into_owned(),
                e.tenant.as_str(),
                e.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("<13>one".to_owned(), "alpha", "web"),
            ("<13>two".to_owned(), "alpha", "web"),
            ("<13>three".to_owned(), "beta", "db"),
            ("<13>four\n!".to_owned(), "beta", "db"),
        ]
    );
    for event in &events {
        assert_eq!(event.transport, Transport::Tcp);
        assert_eq!(event.format, FormatHint::Syslog);
        assert!(event.peer.unwrap().ip().is_loopback());
    }
    assert!(
        events.windows(2).all(|w| w[0].id < w[1].id),
        "ids are ordered"
    );
    assert_eq!(running.stats.acknowledged_events(Transport::Tcp), 4);
    running.stop().await;
}

#[tokio::test]
async fn tcp_from_an_unknown_peer_is_closed_at_once() {
    let running = Running::start(
        tcp_config(),
        directory(vec![source("db", "beta", vec![peer("127.0.0.2/32")])]),
    )
    .await;
    let mut stream = connect_from("127.0.0.1", running.addresses.syslog_tcp.unwrap()).await;
    let _ = stream.write_all(b"<13>who am i\n").await;
    assert!(closed_by_server(&mut stream).await);
    assert_eq!(
        running
            .stats
            .refusals(Transport::Tcp, RefuseReason::UnknownSource),
        1
    );
    assert!(running.sink.events().is_empty());
    running.stop().await;
}

#[tokio::test]
async fn oversized_messages_are_refused_and_counted_not_truncated() {
    let config = IngestConfig {
        max_message_bytes: 16,
        ..tcp_config()
    };
    let running = start_alpha(config, "web").await;
    let mut stream = connect_from("127.0.0.1", running.addresses.syslog_tcp.unwrap()).await;
    let mut payload = b"5 <1>ok40 ".to_vec();
    payload.extend_from_slice(&[b'z'; 40]);
    payload.extend_from_slice(b"6 <2>end");
    stream.write_all(&payload).await.unwrap();
    stream.shutdown().await.unwrap();
    running.sink.wait_for_events(2).await;
    assert_eq!(running.sink.messages(), vec!["<1>ok", "<2>end"]);
    assert_eq!(
        running
            .stats
            .dropped_events(Transport::Tcp, DropReason::Oversized),
        1
    );
    running.stop().await;
}

#[tokio::test]
async fn a_peer_over_its_connection_limit_is_closed() {
    let config = IngestConfig {
        max_connections_per_peer: 1,
        ..tcp_config()
    };
    let running = start_alpha(config, "web").await;
    let server = running.addresses.syslog_tcp.unwrap();
    let mut first = connect_from("127.0.0.1", server).await;
    first.write_all(b"<13>first\n").await.unwrap();
    running.sink.wait_for_events(1).await;
    let mut second = connect_from("127.0.0.1", server).await;
    assert!(closed_by_server(&mut second).await);
    assert_eq!(
        running
            .stats
            .refusals(Transport::Tcp, RefuseReason::TooManyConnections),
        1
    );
    assert_eq!(running.stats.open_connections(Transport::Tcp), 1);
    drop(first);
    running.stop().await;
}

#[tokio::test]
async fn udp_datagrams_are_attributed_by_peer_and_strangers_are_counted() {
    let config = IngestConfig {
        max_message_bytes: 32,
        ..tcp_config()
    };
    let running = start_alpha(config, "fw").await;
    let server = running.addresses.syslog_udp.unwrap();
    let stranger = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let known = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger.send_to(b"<13>not yours\n", server).await.unwrap();
    known.send_to(&[b'x'; 100], server).await.unwrap();
    known.send_to(b"<13>udp one\n\0", server).await.unwrap();
    running.sink.wait_for_events(1).await;
    let events = running.sink.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].bytes, b"<13>udp one");
    assert_eq!(events[0].tenant.as_str(), "alpha");
    assert_eq!(events[0].source.as_str(), "fw");
    assert_eq!(events[0].transport, Transport::Udp);
    let stats = &running.stats;
    assert_eq!(
        stats.dropped_events(Transport::Udp, DropReason::Unattributed),
        1
    );
    assert_eq!(
        stats.dropped_events(Transport::Udp, DropReason::Oversized),
        1
    );
    running.stop().await;
}

#[tokio::test]
async fn udp_unattributed_can_go_to_a_default_source() {
    let config = IngestConfig {
        udp_unattributed: UdpUnattributed::DefaultSource(SourceId::new("catchall").unwrap()),
        ..tcp_config()
    };
    let running = Running::start(
        config,
        directory(vec![
            source("fw", "alpha", vec![peer("127.0.0.1/32")]),
            source("catchall", "beta", vec![]),
        ]),
    )
    .await;
    let stranger = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    stranger
        .send_to(b"<13>anyone", running.addresses.syslog_udp.unwrap())
        .await
        .unwrap();
    running.sink.wait_for_events(1).await;
    let events = running.sink.events();
    assert_eq!(events[0].source.as_str(), "catchall");
    assert_eq!(events[0].tenant.as_str(), "beta");
    running.stop().await;
}

#[tokio::test]
async fn udp_drops_are_counted_when_the_sink_is_full() {
    let running = start_alpha(tcp_config(), "fw").await;
    running.sink.set_full(true);
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = running.addresses.syslog_udp.unwrap();
    for _ in 0..3 {
        socket.send_to(b"<13>lost", server).await.unwrap();
    }
    let stats = Arc::clone(&running.stats);
    eventually("three queue_full drops", || {
        stats.dropped_events(Transport::Udp, DropReason::QueueFull) == 3
    })
    .await;
    assert!(running.sink.events().is_empty());
    running.sink.set_full(false);
    socket.send_to(b"<13>kept", server).await.unwrap();
    running.sink.wait_for_events(1).await;
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn slow_loris_partial_frame_is_closed_after_the_idle_timeout() {
    let config = IngestConfig {
        idle_timeout: Duration::from_secs(10),
        ..tcp_config()
    };
    let running = start_alpha(config, "web").await;
    let mut stream = connect_from("127.0.0.1", running.addresses.syslog_tcp.unwrap()).await;
    stream
        .write_all(b"<13>complete\n<13>partial")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut byte = [0u8; 1];
    // One byte a second, never a newline: without the partial-frame timeout this would go on forever.
    let closed_after = loop {
        tokio::select! {
            read = stream.read(&mut byte) => {
                assert!(matches!(read, Ok(0) | Err(_)), "server sent data");
                break started.elapsed();
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                let _ = stream.write_all(b"x").await;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never closed");
    };
    assert!(closed_after >= Duration::from_secs(10), "{closed_after:?}");
    assert!(closed_after < Duration::from_secs(12), "{closed_after:?}");
    running.sink.wait_for_events(1).await;
    assert_eq!(running.sink.messages(), vec!["<13>complete"]);
    let stats = &running.stats;
    assert_eq!(stats.refusals(Transport::Tcp, RefuseReason::IdleTimeout), 1);
    assert_eq!(
        stats.dropped_events(Transport::Tcp, DropReason::Incomplete),
        1
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let config = IngestConfig {
        idle_timeout: Duration::from_secs(10),
        ..tcp_config()
    };
    let running = start_alpha(config, "web").await;
    let mut stream = connect_from("127.0.0.1", running.addresses.syslog_tcp.unwrap()).await;
    let started = tokio::time::Instant::now();
    assert!(closed_by_server(&mut stream).await);
    let closed_after = started.elapsed();
    assert!(closed_after >= Duration::from_secs(9), "{closed_after:?}");
    assert!(closed_after < Duration::from_secs(11), "{closed_after:?}");
    let stats = &running.stats;
    assert_eq!(stats.refusals(Transport::Tcp, RefuseReason::IdleTimeout), 1);
    assert_eq!(
        stats.dropped_events(Transport::Tcp, DropReason::Incomplete),
        0
    );
    running.stop().await;
}

#[tokio::test]
async fn a_flooding_source_does_not_starve_another() {
    let config = IngestConfig {
        max_batch_events: 8,
        ..tcp_config()
    };
    let running = Running::start(
        config,
        directory(vec![
            source("noisy", "alpha", vec![peer("127.0.0.1/32")]),
            source("quiet", "beta", vec![peer("127.0.0.2/32")]),
        ]),
    )
    .await;
    let server = running.addresses.syslog_tcp.unwrap();
    running.sink.close_gate();
    let mut noisy = connect_from("127.0.0.1", server).await;
    let flood = tokio::spawn(async move {
        let line = b"<13>flood flood flood flood flood flood flood flood\n".repeat(1000);
        // Blocks once the sink stops taking batches and the socket buffers fill: that is the backpressure.
        for _ in 0..1000 {
            if noisy.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    running.sink.wait_for_waiting_appends(1).await;
    let mut quiet = connect_from("127.0.0.2", server).await;
    quiet.write_all(b"<13>quiet but important\n").await.unwrap();
    running.sink.wait_for_waiting_appends(2).await;
    // Two batches get through: the flood's first and the quiet source's, not two of the flood's.
    running.sink.open_gate(2);
    running.sink.wait_for_events(9).await;
    let events = running.sink.events();
    assert_eq!(events.len(), 9);
    let quiet_events: Vec<_> = events
        .iter()
        .filter(|e| e.source.as_str() == "quiet")
        .collect();
    assert_eq!(quiet_events.len(), 1);
    assert_eq!(quiet_events[0].tenant.as_str(), "beta");
    assert!(
        events
            .iter()
            .filter(|e| e.source.as_str() == "noisy")
            .all(|e| e.tenant.as_str() == "alpha")
    );
    running.sink.open_gate_fully();
    flood.abort();
    running.stop().await;
}

mod tls {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use sha2::Digest;
    use tokio_rustls::TlsConnector;

    struct Pki {
        dir: tempfile::TempDir,
        ca: CertifiedIssuer<'static, KeyPair>,
    }

    struct Client {
        certificate: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    }

    impl Pki {
        fn new() -> Pki {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(DnType::CommonName, "kuzet test ca");
            let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let server_key = KeyPair::generate().unwrap();
            let server = CertificateParams::new(vec!["localhost".to_owned()])
                .unwrap()
                .signed_by(&server_key, &ca)
                .unwrap();
            std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
            std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
            std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
            Pki { dir, ca }
        }

        fn tls_config(&self) -> kuzet_ingest::TlsConfig {
            kuzet_ingest::TlsConfig {
                cert_path: self.dir.path().join("server.pem"),
                key_path: self.dir.path().join("server.key"),
                client_ca_path: Some(self.dir.path().join("ca.pem")),
                require_client_cert: false,
            }
        }

        fn client(&self, common_name: &str) -> Client {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let certificate = params.signed_by(&key, &self.ca).unwrap();
            Client {
                certificate: certificate.der().clone(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            }
        }

        fn connector(&self, client: Option<&Client>) -> TlsConnector {
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.der().clone()).unwrap();
            let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
            let config = match client {
                Some(client) => builder
                    .with_client_auth_cert(vec![client.certificate.clone()], client.key.clone_key())
                    .unwrap(),
                None => builder.with_no_client_auth(),
            };
            TlsConnector::from(Arc::new(config))
        }
    }

    async fn send(
        connector: &TlsConnector,
        server: std::net::SocketAddr,
        payload: &[u8],
    ) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(server).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(payload).await.unwrap();
        tls.flush().await.unwrap();
        tls
    }

    #[tokio::test]
    async fn client_certificates_map_to_their_source_and_unknown_ones_are_refused() {
        let pki = Pki::new();
        let by_name = pki.client("shipper-a");
        let by_fingerprint = pki.client("anything");
        let unknown = pki.client("intruder");
        let fingerprint = hex::encode(sha2::Sha256::digest(by_fingerprint.certificate.as_ref()));
        let config = IngestConfig {
            syslog_tls: loopback(),
            tls: Some(pki.tls_config()),
            ..IngestConfig::default()
        };
        let running = Running::start(
            config,
            directory(vec![
                source(
                    "tls-a",
                    "beta",
                    vec![SourceIdentity::TlsCommonName("shipper-a".into())],
                ),
                source(
                    "tls-fp",
                    "alpha",
                    vec![SourceIdentity::TlsFingerprint(fingerprint)],
                ),
                // The peer address is known too: an unknown certificate must not fall back to it.
                source("by-ip", "alpha", vec![peer("127.0.0.1/32")]),
            ]),
        )
        .await;
        let server = running.addresses.syslog_tls.unwrap();

        let mut a = send(&pki.connector(Some(&by_name)), server, b"<13>over tls\n").await;
        a.shutdown().await.unwrap();
        running.sink.wait_for_events(1).await;
        let mut f = send(
            &pki.connector(Some(&by_fingerprint)),
            server,
            b"12 <13>by print",
        )
        .await;
        f.shutdown().await.unwrap();
        running.sink.wait_for_events(2).await;

        let mut intruder = send(&pki.connector(Some(&unknown)), server, b"<13>let me in\n").await;
        let mut byte = [0u8; 1];
        assert!(matches!(intruder.read(&mut byte).await, Ok(0) | Err(_)));
        assert_eq!(
            running
                .stats
                .refusals(Transport::Tls, RefuseReason::UnknownSource),
            1
        );

        // Without a certificate the peer address decides.
        let mut anonymous = send(&pki.connector(None), server, b"<13>no cert\n").await;
        anonymous.shutdown().await.unwrap();
        running.sink.wait_for_events(3).await;

        let events = running.sink.events();
        let summary: Vec<(&str, &str, Vec<u8>)> = events
            .iter()
            .map(|e| (e.tenant.as_str(), e.source.as_str(), e.bytes.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("beta", "tls-a", b"<13>over tls".to_vec()),
                ("alpha", "tls-fp", b"<13>by print".to_vec()),
                ("alpha", "by-ip", b"<13>no cert".to_vec()),
            ]
        );
        assert!(events.iter().all(|e| e.transport == Transport::Tls));
        running.stop().await;
    }

    #[tokio::test]
    async fn a_required_client_certificate_is_enforced_in_the_handshake() {
        let pki = Pki::new();
        let config = IngestConfig {
            syslog_tls: loopback(),
            tls: Some(kuzet_ingest::TlsConfig {
                require_client_cert: true,
                ..pki.tls_config()
            }),
            ..IngestConfig::default()
        };
        let running = start_alpha(config, "by-ip").await;
        let server = running.addresses.syslog_tls.unwrap();
        let tcp = TcpStream::connect(server).await.unwrap();
        let connector = pki.connector(None);
        // TLS 1.3 clients finish their side before the server checks the certificate; the refusal shows up as a
        // failed read or write at the latest.
        let outcome = match connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
        {
            Err(_) => true,
            Ok(mut tls) => {
                let _ = tls.write_all(b"<13>sneak\n").await;
                let mut byte = [0u8; 1];
                matches!(tls.read(&mut byte).await, Ok(0) | Err(_))
            }
        };
        assert!(outcome);
        let stats = Arc::clone(&running.stats);
        eventually("handshake refusal counted", || {
            stats.refusals(Transport::Tls, RefuseReason::Handshake) == 1
        })
        .await;
        assert!(running.sink.events().is_empty());
        running.stop().await;
    }
}

#[test]
fn memory_sink_is_a_sink() {
    fn is_sink<S: kuzet_ingest::Sink>() {}
    is_sink::<MemorySink>();
}

#[tokio::test]
async fn a_swapped_directory_applies_to_new_connections() {
    let running = Running::start(
        tcp_config(),
        directory(vec![source("db", "beta", vec![peer("127.0.0.2/32")])]),
    )
    .await;
    let server = running.addresses.syslog_tcp.unwrap();
    let mut refused = connect_from("127.0.0.1", server).await;
    assert!(closed_by_server(&mut refused).await);
    running.directory.replace(directory(vec![source(
        "web",
        "alpha",
        vec![peer("127.0.0.1/32")],
    )]));
    let mut accepted = connect_from("127.0.0.1", server).await;
    accepted.write_all(b"<13>now known\n").await.unwrap();
    accepted.shutdown().await.unwrap();
    running.sink.wait_for_events(1).await;
    let events = running.sink.events();
    assert_eq!(events[0].source.as_str(), "web");
    assert_eq!(events[0].tenant.as_str(), "alpha");
    running.stop().await;
}

#[tokio::test]
async fn a_syslog_sender_at_its_limit_does_not_cut_its_address_off_http() {
    let config = IngestConfig {
        max_connections_per_peer: 1,
        http: loopback(),
        ..tcp_config()
    };
    let running = start_alpha(config, "web").await;
    let mut syslog = connect_from("127.0.0.1", running.addresses.syslog_tcp.unwrap()).await;
    syslog.write_all(b"<13>holding the slot\n").await.unwrap();
    running.sink.wait_for_events(1).await;
    // The same address on the HTTP listener (the API, /health, HTTP ingest): its own budget.
    let mut http = connect_from("127.0.0.1", running.addresses.http.unwrap()).await;
    http.write_all(b"GET / HTTP/1.1\r\nHost: kuzet\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    http.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 "),
        "answered, not cut off: {:?}",
        String::from_utf8_lossy(&answer)
    );
    // A second syslog connection from it is still over its syslog budget.
    let mut second = connect_from("127.0.0.1", running.addresses.syslog_tcp.unwrap()).await;
    assert!(closed_by_server(&mut second).await);
    drop(syslog);
    running.stop().await;
}
