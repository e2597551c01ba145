//! rsyslog, the shipper most ISOCs already run, forwarding to Kuzet over TCP and over TLS (RFC 5425) with octet
//! counting, authenticated by a client certificate. Certificates come from the real `openssl` command.

// Helpers of a test binary panic on failure like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use common::*;

fn openssl(args: &[&str], dir: &Path) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, a server certificate for `kuzet.test` / 127.0.0.1 and a client certificate `rsyslog-client`.
fn make_pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Kuzet Test CA",
    ]);
    openssl(&ca, dir);
    for (name, cn, ext) in [
        (
            "server",
            "kuzet.test",
            "subjectAltName=DNS:kuzet.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "rsyslog-client",
            "subjectAltName=DNS:rsyslog-client\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        let subject = format!("/CN={cn}");
        let (key, csr, pem, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(dir.join(&extfile), ext).unwrap();
        let mut req = vec!["req"];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
        openssl(&req, dir);
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ],
            dir,
        );
    }
}

struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn rsyslog_forwards_over_tcp_and_tls_with_octet_counting() {
    let rsyslogd = which("rsyslogd")
        .expect("rsyslogd is not installed: scripts/test installs rsyslog and rsyslog-gnutls");
    let pki = tempfile::tempdir().unwrap();
    make_pki(pki.path());
    let p = |f: &str| pki.path().join(f).display().to_string();
    let site = Site::new(
        r#"
[[tenants]]
id = "akimat"
name = "Akimat"
[[tenants.sources]]
id = "akimat-rsyslog"
format = "syslog"
peers = ["127.0.0.1/32"]
[[tenants]]
id = "energo"
name = "Energo"
[[tenants.sources]]
id = "energo-rsyslog-tls"
format = "syslog"
tls_common_names = ["rsyslog-client"]
"#,
        &format!(
            "syslog_tls = \"127.0.0.1:0\"\ntls_certificate = {:?}\ntls_key = {:?}\ntls_client_ca = {:?}\n\
             tls_client_certificate_required = true\n",
            p("server.pem"),
            p("server.key"),
            p("ca.pem")
        ),
    );
    let server = site.start();
    let tcp = server.addresses.tcp.unwrap();
    let tls = server.addresses.tls.unwrap();

    let input_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let work = tempfile::tempdir().unwrap();
    let conf = work.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}"
       DefaultNetstreamDriverCAFile="{ca}"
       DefaultNetstreamDriverCertFile="{cert}"
       DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{input_port}")
action(type="omfwd" target="127.0.0.1" port="{tcp_port}" protocol="tcp" TCP_Framing="octet-counted"
       template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{tls_port}" protocol="tcp" TCP_Framing="octet-counted"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
       StreamDriverPermittedPeers="kuzet.test" template="RSYSLOG_SyslogProtocol23Format")
"#,
            work = work.path().display(),
            ca = p("ca.pem"),
            cert = p("client.pem"),
            key = p("client.key"),
            tcp_port = tcp.port(),
            tls_port = tls.port(),
        ),
    )
    .unwrap();
    let _rsyslog = Rsyslog(
        Command::new(rsyslogd)
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(work.path().join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .spawn()
            .expect("rsyslogd starts"),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", input_port)).is_err() {
        assert!(
            start.elapsed() < DEADLINE,
            "rsyslogd never listened on {input_port}"
        );
        std::thread::yield_now();
    }

    const MESSAGES: usize = 50;
    for i in 0..MESSAGES {
        let status = Command::new("logger")
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &input_port.to_string(),
                "-T",
                "--rfc5424",
                "-t",
                "sshd",
            ])
            .arg(format!(
                "Accepted publickey for user{i} from 10.1.2.3 port {} ssh2",
                50000 + i
            ))
            .status()
            .unwrap();
        assert!(status.success());
    }
    server.wait_metric(
        r#"kuzet_ingest_acknowledged_total{transport="tcp"}"#,
        MESSAGES as f64,
    );
    server.wait_metric(
        r#"kuzet_ingest_acknowledged_total{transport="tls"}"#,
        MESSAGES as f64,
    );
    server.stop();

    for (tenant, source) in [
        ("akimat", "akimat-rsyslog"),
        ("energo", "energo-rsyslog-tls"),
    ] {
        let events = site.export(tenant);
        let ours = with_message(&events, "Accepted publickey for user");
        assert_eq!(ours.len(), MESSAGES, "{tenant}: {} events", events.len());
        for event in ours {
            assert_eq!(event["kuzet"]["source"], source);
            assert_eq!(event["event"]["outcome"], "success");
            assert_eq!(event["source"]["ip"], "10.1.2.3");
            assert_eq!(event["log"]["syslog"]["version"], 1);
        }
    }
    let (intact, report) = site.verify();
    assert!(intact, "{report}");
}
