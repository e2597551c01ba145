//! `kuzet serve --demo`: a living demo on loopback. Two demo tenants with facilities and sources, a demo sealing
//! key beside (not inside) the data directory, and a generator sending realistic traffic through the real
//! listeners — syslog over UDP and TCP from distinct loopback addresses, Winlogbeat-like JSON over HTTP with tokens —
//! so that what a newcomer sees went through exactly the path production events take.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;
use kuzet_ingest::BoundAddresses;
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::generate::{self, Generated, Rng};

pub const DEMO_TOKEN_AKIMAT: &str = "demo-token-akimat";
pub const DEMO_TOKEN_ENERGO: &str = "demo-token-energo";
/// Syslog from this address belongs to the akimat demo tenant (as does 127.0.0.1, so `logger` works as is).
const AKIMAT_PEER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Syslog from this address belongs to the energy company demo tenant.
const ENERGO_PEER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// The demo configuration: loopback listeners, two tenants.
pub fn demo_config(data_dir: PathBuf) -> Result<Config> {
    let key = data_dir.with_extension("seal.key");
    let text = format!(
        r#"
data_dir = {data_dir:?}
signing_key = {key:?}

[ingest]
syslog_udp = "127.0.0.1:5514"
syslog_tcp = "127.0.0.1:5514"
http = "127.0.0.1:9200"

[auth]
# The demo's console is reached over plain HTTP on loopback.
secure_cookies = false

[[tenants]]
id = "akimat-demo"
name = "Akimat (DEMO)"
[[tenants.facilities]]
id = "akimat-portal"
name = "E-services portal"
class = 1
critical = true
[[tenants.sources]]
id = "akimat-linux"
name = "Linux servers and network (syslog)"
facility = "akimat-portal"
format = "syslog"
peers = ["127.0.0.1/32", "{AKIMAT_PEER}/32"]
expected_interval = "5m"
[[tenants.sources]]
id = "akimat-windows"
name = "Windows domain (Winlogbeat)"
facility = "akimat-portal"
format = "json"
token_sha256 = ["{akimat}"]
expected_interval = "5m"

[[tenants]]
id = "energo-demo"
name = "Regional power company (DEMO)"
[[tenants.facilities]]
id = "energo-scada"
name = "Dispatch and SCADA network"
class = 2
critical = true
[[tenants.sources]]
id = "energo-syslog"
name = "Firewalls and servers (syslog)"
facility = "energo-scada"
format = "syslog"
peers = ["{ENERGO_PEER}/32"]
expected_interval = "5m"
[[tenants.sources]]
id = "energo-windows"
name = "Windows servers (Winlogbeat)"
facility = "energo-scada"
format = "json"
token_sha256 = ["{energo}"]
"#,
        akimat = token_hash(DEMO_TOKEN_AKIMAT),
        energo = token_hash(DEMO_TOKEN_ENERGO),
    );
    let mut config = Config::from_toml(&text).context("demo configuration")?;
    config.console.demo = true;
    Ok(config)
}

pub fn run(data_dir: Option<PathBuf>) -> Result<()> {
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from("kuzet-demo"));
    let config = demo_config(data_dir)?;
    crate::keys::ensure_key(&config.signing_key, &config.archive_dir())?;
    // The demo's database and its first administrator (the one-time password is printed on the first run only).
    crate::identity::init_database(&config)?;
    crate::identity::demo_users(
        &config,
        &[
            (
                "analyst",
                "Demo analyst",
                "analyst",
                &["akimat-demo", "energo-demo"],
            ),
            (
                "akim",
                "Demo owner of the akimat",
                "tenant-owner",
                &["akimat-demo"],
            ),
        ],
    )?;
    eprintln!(
        "DEMO MODE — demo tenants `akimat-demo` and `energo-demo`, generated traffic, a demo sealing key at {}.\n\
         Data: {}. Not for production: run `kuzet config default` for a real configuration.",
        config.signing_key.display(),
        config.data_dir.display()
    );
    crate::serve::run_with(config, |ready| {
        tokio::spawn(async move {
            if let Err(error) = generate_traffic(ready.addresses, ready.shutdown).await {
                tracing::error!("demo traffic generator stopped: {error:#}");
            }
        });
    })
}

/// Sends background traffic continuously and an attack scenario every 20 seconds until shutdown.
async fn generate_traffic(addresses: BoundAddresses, shutdown: CancellationToken) -> Result<()> {
    let (Some(udp), Some(tcp), Some(http)) =
        (addresses.syslog_udp, addresses.syslog_tcp, addresses.http)
    else {
        anyhow::bail!("the demo needs its UDP, TCP and HTTP listeners");
    };
    let udp_socket = tokio::net::UdpSocket::bind(SocketAddr::new(IpAddr::V4(AKIMAT_PEER), 0))
        .await
        .context("demo generator: bind 127.0.0.2")?;
    let tcp_socket = tokio::net::TcpSocket::new_v4()?;
    tcp_socket.bind(SocketAddr::new(IpAddr::V4(ENERGO_PEER), 0))?;
    let mut tcp_stream = tcp_socket
        .connect(tcp)
        .await
        .context("demo generator: connect")?;
    let mut rng = Rng::new(0x4b757a6574);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut round = 0u64;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        round += 1;
        let now = Timestamp::now();
        let mut events: Vec<Generated> = (0..5)
            .map(|_| generate::background(&mut rng, now))
            .collect();
        if round % 80 == 1 {
            events.extend(generate::scenario(&mut rng, now, round / 80));
        }
        let mut json_akimat = String::new();
        let mut json_energo = String::new();
        for (i, event) in events.iter().enumerate() {
            let to_akimat = i % 2 == 0;
            match event {
                Generated::Syslog(line) if to_akimat => {
                    udp_socket.send_to(line.as_bytes(), udp).await?;
                }
                Generated::Syslog(line) => {
                    tcp_stream
                        .write_all(format!("{} {line}", line.len()).as_bytes())
                        .await?;
                }
                Generated::Json(doc) => {
                    let target = if to_akimat {
                        &mut json_akimat
                    } else {
                        &mut json_energo
                    };
                    target.push_str(doc);
                    target.push('\n');
                }
            }
        }
        for (body, token) in [
            (json_akimat, DEMO_TOKEN_AKIMAT),
            (json_energo, DEMO_TOKEN_ENERGO),
        ] {
            if !body.is_empty() {
                post_ndjson(http, token, &body).await?;
            }
        }
    }
}

/// A minimal HTTP/1.1 POST; the demo needs no HTTP client library for one request shape.
async fn post_ndjson(address: SocketAddr, token: &str, body: &str) -> Result<()> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!(
        "POST /ingest/v1/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let status = String::from_utf8_lossy(&response[..response.len().min(12)]).into_owned();
    if !status.starts_with("HTTP/1.1 2") {
        tracing::warn!(%status, "demo generator: HTTP ingest refused a batch");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_configuration_is_valid_and_keeps_the_key_outside_the_data_dir() {
        let config = demo_config(PathBuf::from("/tmp/kuzet-demo")).unwrap();
        let directory = config.directory().unwrap();
        assert_eq!(directory.tenants().len(), 2);
        assert!(!config.signing_key.starts_with(&config.data_dir));
        let source = directory
            .source_by_token_sha256(&token_hash(DEMO_TOKEN_ENERGO))
            .unwrap();
        assert_eq!(source.tenant.as_str(), "energo-demo");
    }
}
