//! A reproducible generator of realistic events, shared by the demo (`serve --demo`) and the benchmarks
//! (`kuzet bench ingest`). Lines are what real senders write: rsyslog-forwarded sshd/sudo/useradd messages,
//! Cisco ASA and FortiGate logs, nginx access logs, an antivirus speaking CEF, and Windows events as Winlogbeat
//! documents. A few attack scenarios are mixed in (password guessing, a new admin account, log clearing,
//! beaconing to a known-bad address) so that later detection has something to find.

use jiff::Timestamp;

/// xorshift64*: deterministic, dependency-free, good enough to vary test traffic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // Callers pass non-empty constant tables.
        &items[self.below(items.len() as u64) as usize]
    }
}

const USERS: &[&str] = &[
    "aidos",
    "dana",
    "yerlan",
    "madina",
    "svc-backup",
    "svc-1c",
    "nurlan",
    "aigerim",
];
const HOSTS: &[&str] = &["app-01", "app-02", "db-01", "gw-01", "web-01", "dc-01"];
const INTERNAL: &[&str] = &[
    "10.20.1.15",
    "10.20.1.22",
    "10.20.2.40",
    "10.20.3.7",
    "10.20.4.81",
];
const EXTERNAL: &[&str] = &[
    "185.22.64.10",
    "91.215.85.17",
    "5.188.10.4",
    "94.247.135.2",
    "2.72.13.9",
];
const COMMANDS: &[&str] = &[
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get update",
    "/usr/bin/journalctl -u sshd",
    "/bin/cat /etc/shadow",
];
const PATHS: &[&str] = &[
    "/",
    "/login",
    "/api/v1/services",
    "/egov/certificate",
    "/static/app.js",
    "/wp-login.php",
];
/// An address the demo's threat intelligence will call known-bad (TEST-NET-3, never routed).
pub const BAD_ADDRESS: &str = "203.0.113.66";

/// What one generated event is and how it travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// A syslog line (RFC 3164 or 5424 as rsyslog forwards it), without framing.
    Syslog(String),
    /// A JSON document as Winlogbeat or Filebeat would ship it.
    Json(String),
}

fn rfc5424(at: Timestamp, pri: u8, host: &str, app: &str, pid: u64, msg: &str) -> String {
    format!(
        "<{pri}>1 {} {host} {app} {pid} - - {msg}",
        at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
    )
}

fn rfc3164(at: Timestamp, pri: u8, host: &str, tag: &str, msg: &str) -> String {
    let local = kuzet_model::time::kz_local(at);
    format!(
        "<{pri}>{} {host} {tag}: {msg}",
        local.strftime("%b %e %H:%M:%S")
    )
}

/// One ordinary event at `at`, chosen by `rng`.
pub fn background(rng: &mut Rng, at: Timestamp) -> Generated {
    let user = rng.pick(USERS);
    let host = rng.pick(HOSTS);
    let internal = rng.pick(INTERNAL);
    let external = rng.pick(EXTERNAL);
    let pid = 1000 + rng.below(60000);
    let port = 1024 + rng.below(64000);
    match rng.below(10) {
        0 => Generated::Syslog(rfc5424(
            at,
            38,
            host,
            "sshd",
            pid,
            &format!(
                "Accepted publickey for {user} from {internal} port {port} ssh2: ED25519 SHA256:Xv3n"
            ),
        )),
        1 => Generated::Syslog(rfc3164(
            at,
            85,
            host,
            &format!("sudo[{pid}]"),
            &format!(
                "{user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND={}",
                rng.pick(COMMANDS)
            ),
        )),
        2 => Generated::Syslog(rfc3164(
            at,
            166,
            "gw-01",
            "%ASA-6-302013",
            &format!(
                "Built outbound TCP connection {} for outside:{external}/443 ({external}/443) to inside:{internal}/{port} ({internal}/{port})",
                rng.below(9_000_000)
            ),
        )),
        3 => Generated::Syslog(rfc5424(
            at,
            134,
            "fw-01",
            "fortigate",
            pid,
            &format!(
                "date={} time={} devname=\"fw-01\" devid=\"FG100F\" type=\"traffic\" subtype=\"forward\" level=\"notice\" srcip={internal} srcport={port} dstip={external} dstport=443 proto=6 action=\"accept\" service=\"HTTPS\" sentbyte={} rcvdbyte={}",
                kuzet_model::time::kz_local(at).strftime("%Y-%m-%d"),
                kuzet_model::time::kz_local(at).strftime("%H:%M:%S"),
                rng.below(90_000),
                rng.below(900_000)
            ),
        )),
        4 => Generated::Syslog(rfc5424(
            at,
            190,
            "web-01",
            "nginx",
            pid,
            &format!(
                "{external} - - [{}] \"GET {} HTTP/1.1\" {} {} \"-\" \"Mozilla/5.0\"",
                kuzet_model::time::kz_local(at).strftime("%d/%b/%Y:%H:%M:%S +0500"),
                rng.pick(PATHS),
                *rng.pick(&[200, 200, 200, 302, 404, 500]),
                rng.below(50_000)
            ),
        )),
        5 => Generated::Syslog(rfc3164(
            at,
            14,
            "av-01",
            "kaspersky",
            &format!(
                "CEF:0|Kaspersky Lab|Kaspersky Security Center|14.2|GNRL_EV_OBJECT_SCANNED|Object scanned|1|rt={} dhost={host} dst={internal} fname=C:\\\\Users\\\\{user}\\\\Downloads\\\\report.pdf act=scanned",
                at.as_millisecond()
            ),
        )),
        6 => windows(
            at,
            host,
            4624,
            &format!(
                "\"TargetUserName\":\"{user}\",\"TargetDomainName\":\"GOV\",\"LogonType\":\"3\",\"IpAddress\":\"{internal}\",\"IpPort\":\"{port}\""
            ),
        ),
        7 => windows(
            at,
            host,
            4688,
            &format!(
                "\"SubjectUserName\":\"{user}\",\"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"cmd.exe /c whoami\",\"ParentProcessName\":\"C:\\\\Windows\\\\explorer.exe\""
            ),
        ),
        8 => Generated::Syslog(rfc3164(
            at,
            86,
            host,
            &format!("sshd[{pid}]"),
            &format!("pam_unix(sshd:session): session opened for user {user}(uid=1001) by (uid=0)"),
        )),
        _ => Generated::Syslog(rfc5424(
            at,
            30,
            host,
            "systemd",
            1,
            "Started Daily apt download activities.",
        )),
    }
}

fn windows(at: Timestamp, host: &str, event_id: u32, event_data: &str) -> Generated {
    let channel = if event_id == 104 {
        "System"
    } else {
        "Security"
    };
    Generated::Json(format!(
        "{{\"@timestamp\":\"{at}\",\"agent\":{{\"type\":\"winlogbeat\",\"version\":\"8.15.0\"}},\"host\":{{\"name\":\"{host}.gov.kz\"}},\"event\":{{\"code\":\"{event_id}\",\"provider\":\"Microsoft-Windows-Security-Auditing\"}},\"winlog\":{{\"channel\":\"{channel}\",\"event_id\":\"{event_id}\",\"computer_name\":\"{host}.gov.kz\",\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"event_data\":{{{event_data}}}}},\"message\":\"Windows event {event_id}\"}}"
    ))
}

/// The attack scenarios, each a short burst of events starting at `at`.
pub fn scenario(rng: &mut Rng, at: Timestamp, which: u64) -> Vec<Generated> {
    let attacker = rng.pick(EXTERNAL);
    let step = |i: i64| at + jiff::SignedDuration::from_millis(i * 700);
    match which % 4 {
        // Password guessing over SSH from one address, many users, then one success.
        0 => {
            let mut out: Vec<Generated> = (0..12)
                .map(|i| {
                    let user = ["root", "admin", "oracle", "test", "ubuntu", "postgres"][i % 6];
                    Generated::Syslog(rfc3164(step(i as i64), 38, "app-01", &format!("sshd[{}]", 4000 + i), &format!("Failed password for invalid user {user} from {attacker} port {} ssh2", 40000 + i)))
                })
                .collect();
            out.push(Generated::Syslog(rfc3164(step(13), 38, "app-01", "sshd[4013]", &format!("Accepted password for root from {attacker} port 40013 ssh2"))));
            out
        }
        // A new account made an administrator, on Linux and Windows.
        1 => vec![
            Generated::Syslog(rfc3164(step(0), 86, "db-01", "useradd[2211]", "new user: name=backdoor, UID=1050, GID=1050, home=/home/backdoor, shell=/bin/bash, from=/dev/pts/1")),
            Generated::Syslog(rfc3164(step(1), 86, "db-01", "usermod[2214]", "add 'backdoor' to group 'sudo'")),
            windows(step(2), "dc-01", 4720, "\"TargetUserName\":\"backdoor\",\"TargetDomainName\":\"GOV\",\"SubjectUserName\":\"aidos\""),
            windows(step(3), "dc-01", 4732, "\"MemberName\":\"CN=backdoor,CN=Users,DC=gov,DC=kz\",\"TargetUserName\":\"Administrators\",\"SubjectUserName\":\"aidos\""),
        ],
        // Logs cleared: the Security log (1102) and the System log (104).
        2 => vec![
            windows(step(0), "app-02", 1102, "\"SubjectUserName\":\"yerlan\",\"SubjectDomainName\":\"GOV\""),
            windows(step(1), "app-02", 104, "\"SubjectUserName\":\"yerlan\",\"Channel\":\"System\""),
        ],
        // Beaconing: the same internal host calls the known-bad address at a steady interval.
        _ => (0..6)
            .map(|i| Generated::Syslog(rfc3164(at + jiff::SignedDuration::from_secs(i * 60), 166, "gw-01", "%ASA-6-302013",
                &format!("Built outbound TCP connection {} for outside:{BAD_ADDRESS}/443 ({BAD_ADDRESS}/443) to inside:10.20.3.7/{} (10.20.3.7/{})", 7_000_000 + i, 50000 + i, 50000 + i))))
            .collect(),
    }
}

/// `count` syslog lines for benchmarks: the background mix without the JSON documents, timestamps advancing.
pub fn syslog_stream(seed: u64, start: Timestamp, count: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    let mut at = start;
    while out.len() < count {
        at += jiff::SignedDuration::from_micros(50);
        if let Generated::Syslog(line) = background(&mut rng, at) {
            out.push(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_json_is_json() {
        let start: Timestamp = "2026-11-22T05:00:00Z".parse().unwrap();
        assert_eq!(syslog_stream(7, start, 50), syslog_stream(7, start, 50));
        let mut rng = Rng::new(3);
        for i in 0..200 {
            if let Generated::Json(doc) = background(&mut rng, start) {
                serde_json::from_str::<serde_json::Value>(&doc).unwrap();
            }
            for event in scenario(&mut rng, start, i) {
                if let Generated::Json(doc) = event {
                    serde_json::from_str::<serde_json::Value>(&doc).unwrap();
                }
            }
        }
    }
}
