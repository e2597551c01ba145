//! The end-to-end harness: the real `kuzet` binary in a temporary directory, driven like an operator would.
// Test harness code: a failed step should panic with its message, as in the tests themselves.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

pub const KUZET: &str = env!("CARGO_BIN_EXE_kuzet");

/// How long any wait on an observable condition may take before the test fails (generous: CI is a shared 2-core
/// machine). Waits end as soon as the condition holds; they are never fixed sleeps.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn sha256_hex(text: &str) -> String {
    let output = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("sha256sum runs");
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

pub struct Addresses {
    /// The NCCIS hub's listener, with `serve --role nccis`.
    pub hub: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
}

/// A data directory, a key and a configuration; servers are started and stopped on it, many times if needed.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// What `kuzet init` printed (the first administrator's one-time password among it).
    pub init_output: String,
}

impl Site {
    /// `tenants` is the TOML of tenants and sources; `ingest_extra` adds keys to `[ingest]`.
    pub fn new(tenants: &str, ingest_extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("kuzet.toml");
        let data = dir.path().join("data");
        let key = dir.path().join("keys").join("seal.key");
        std::fs::write(
            &config,
            format!(
                "data_dir = {data:?}\nsigning_key = {key:?}\n\n[ingest]\nsyslog_udp = \"127.0.0.1:0\"\n\
                 syslog_tcp = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:0\"\n{ingest_extra}\n\n[store]\n\
                 block_max_age = \"100ms\"\n\
                 # Tests do not depend on the free space of the machine they run on.\n\
                 disk_warn_free_percent = 0.0\ndisk_refuse_free_percent = 0.0\n\n{tenants}\n"
            ),
        )
        .unwrap();
        let mut site = Site {
            dir,
            config,
            init_output: String::new(),
        };
        let init = site.kuzet(&["init"]);
        assert!(
            init.status.success(),
            "kuzet init: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        site.init_output = String::from_utf8_lossy(&init.stdout).into_owned();
        site
    }

    /// The first administrator's one-time password, as `kuzet init` printed it.
    pub fn admin_one_time(&self) -> String {
        self.init_output
            .lines()
            .find_map(|l| l.split("one-time password ").nth(1))
            .expect("init prints a one-time password")
            .trim()
            .to_owned()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a kuzet command with this site's configuration and waits for it.
    pub fn kuzet(&self, args: &[&str]) -> Output {
        Command::new(KUZET)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("KUZET_LOG", "warn")
            .output()
            .expect("kuzet runs")
    }

    /// The same with more environment variables (secrets a command reads from its environment).
    pub fn kuzet_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(KUZET)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("KUZET_LOG", "warn")
            .envs(env.iter().copied())
            .output()
            .expect("kuzet runs")
    }

    pub fn start(&self) -> Server {
        self.start_with(&[])
    }

    /// `kuzet serve` with more arguments (e.g. `--role nccis`).
    pub fn start_with(&self, args: &[&str]) -> Server {
        let mut child = Command::new(KUZET)
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .args(args)
            .env("KUZET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kuzet serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("kuzet ready:") => break line,
                Some(Ok(_)) => continue,
                _ => {
                    let status = child.wait().unwrap();
                    panic!("kuzet serve exited before it was ready: {status}");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let field = |name: &str| -> Option<SocketAddr> {
            ready
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
        };
        Server {
            child,
            addresses: Addresses {
                hub: field("hub"),
                http: field("http"),
                udp: field("syslog_udp"),
                tcp: field("syslog_tcp"),
                tls: field("syslog_tls"),
            },
        }
    }

    /// The tenant's sealed events as ECS documents, from `kuzet export`.
    pub fn export(&self, tenant: &str) -> Vec<serde_json::Value> {
        let output = self.kuzet(&["export", "--tenant", tenant]);
        assert!(
            output.status.success(),
            "export: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn verify(&self) -> (bool, String) {
        let output = self.kuzet(&["verify"]);
        (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    }
}

pub struct Server {
    pub child: Child,
    pub addresses: Addresses,
}

impl Server {
    pub fn http(&self) -> SocketAddr {
        self.addresses.http.expect("http listener")
    }

    /// SIGTERM and wait: the server seals everything it acknowledged and exits 0.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "kuzet serve exited with {exit}");
    }

    /// SIGKILL: a crash.
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn metrics(&self) -> String {
        curl(&["-s", &format!("http://{}/metrics", self.http())]).0
    }

    /// The value of a counter or gauge line (`name{labels}`), 0 when absent.
    pub fn metric(&self, series: &str) -> f64 {
        metric_value(&self.metrics(), series)
    }

    /// Waits until the series reaches `at_least`.
    pub fn wait_metric(&self, series: &str, at_least: f64) {
        let start = Instant::now();
        loop {
            let value = self.metric(series);
            if value >= at_least {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{series} stayed at {value}, expected at least {at_least}"
            );
            std::thread::yield_now();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn metric_value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .filter(|rest| rest.starts_with(' '))
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// Runs curl; returns (body, http status).
pub fn curl(args: &[&str]) -> (String, u16) {
    let output = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (body.to_owned(), code.trim().parse().unwrap_or(0))
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.exists())
}

/// Finds events whose `message` contains `needle`.
pub fn with_message<'a>(
    events: &'a [serde_json::Value],
    needle: &str,
) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| e["message"].as_str().is_some_and(|m| m.contains(needle)))
        .collect()
}

/// One API call with curl: (status, JSON body, response headers).
pub fn api(
    server: &Server,
    method: &str,
    path: &str,
    session: Option<&(String, String)>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value, String) {
    let url = format!("http://{}{path}", server.http());
    let mut args: Vec<String> = vec!["-i".into(), "-X".into(), method.into(), url];
    if let Some((cookie, csrf)) = session {
        args.extend([
            "-H".into(),
            format!("Cookie: kuzet_session={cookie}"),
            "-H".into(),
            format!("X-CSRF-Token: {csrf}"),
        ]);
    }
    if let Some(body) = body {
        args.extend([
            "-H".into(),
            "Content-Type: application/json".into(),
            "--data-binary".into(),
            body.to_string(),
        ]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (text, status) = curl(&refs);
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        headers.to_owned(),
    )
}

pub fn session_of(headers: &str, body: &serde_json::Value) -> (String, String) {
    let cookie = headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: kuzet_session="))
        .expect("a session cookie");
    let secret = cookie.split(';').next().unwrap().to_owned();
    (secret, body["csrf_token"].as_str().unwrap().to_owned())
}

/// Polls `probe` until it answers `Some`, failing after the deadline with `what`.
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not within the deadline"
        );
        std::thread::yield_now();
    }
}

/// The one-time password `kuzet init` or a user creation printed, changed to `new` (and MFA enrolled when the
/// role needs it): a working session.
pub fn onboard(server: &Server, user: &str, one_time: &str, new: &str) -> (String, String) {
    let login = |password: &str, code: Option<String>| {
        let mut body = json!({"user": user, "password": password});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        api(server, "POST", "/api/v1/auth/login", None, Some(body))
    };
    let (status, body, headers) = login(one_time, None);
    assert_eq!(status, 200, "{body}");
    let session = session_of(&headers, &body);
    let (status, body, _) = api(
        server,
        "POST",
        "/api/v1/auth/password",
        Some(&session),
        Some(json!({"current": one_time, "new": new})),
    );
    assert_eq!(status, 204, "{body}");
    let (status, me, _) = api(server, "GET", "/api/v1/auth/me", Some(&session), None);
    assert_eq!(status, 200, "{me}");
    if me["onboarding"] == "enrol_mfa" {
        let (status, enrol, _) = api(
            server,
            "POST",
            "/api/v1/auth/mfa/enrol",
            Some(&session),
            None,
        );
        assert_eq!(status, 200, "{enrol}");
        let code =
            kuzet_db::totp_code(enrol["secret"].as_str().unwrap(), jiff::Timestamp::now()).unwrap();
        let (status, body, _) = api(
            server,
            "POST",
            "/api/v1/auth/mfa/confirm",
            Some(&session),
            Some(json!({"code": code})),
        );
        assert_eq!(status, 204, "{body}");
    }
    session
}

/// A user `id` with `body`'s roles and tenants, made by `admin` and onboarded with password `new`: a session.
pub fn add_user(
    server: &Server,
    admin: &(String, String),
    body: serde_json::Value,
    new: &str,
) -> (String, String) {
    let (status, made, _) = api(
        server,
        "POST",
        "/api/v1/users",
        Some(admin),
        Some(body.clone()),
    );
    assert_eq!(status, 201, "{made}");
    onboard(
        server,
        body["id"].as_str().expect("the user's id"),
        made["one_time_password"]
            .as_str()
            .expect("a one-time password"),
        new,
    )
}

/// A real SMTP server: aiosmtpd writing each message it accepts into a Maildir.
pub struct Smtp {
    pub child: Child,
    pub port: u16,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts aiosmtpd into `maildir`, or `None` (said loudly; a failure under CI) when it is not installed.
pub fn smtp(maildir: &Path) -> Option<Smtp> {
    let installed = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "aiosmtpd is missing: scripts/test installs it (pip install aiosmtpd)"
        );
        eprintln!(
            "SKIPPED: aiosmtpd is not installed (pip install aiosmtpd); scripts/test installs it"
        );
        return None;
    }
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let server = Smtp { child, port };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < DEADLINE,
            "aiosmtpd never listened on {port}"
        );
        std::thread::yield_now();
    }
    Some(server)
}

/// One webhook request as received: its headers (names lowercased) and body.
pub type Received = (Vec<(String, String)>, Vec<u8>);

/// A webhook receiver: answers 204 to each POST and hands over its headers and body.
pub fn webhook_receiver() -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let trimmed = line.trim_end();
                if trimmed.is_empty() {
                    break;
                }
                let (name, value) = trimmed.split_once(':').unwrap();
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = reader.into_inner();
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .unwrap();
            if tx.send((headers, body)).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

pub fn hmac_sha256_hex(key: &str, message: &[u8]) -> String {
    // The receiver's own check, written out from the definition (RFC 2104): the test must not reuse the signer
    // it checks. Keys of 64 bytes or less are zero-padded; the contact secret is 64.
    use sha2::Digest;
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key.as_bytes());
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = sha2::Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = sha2::Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}
