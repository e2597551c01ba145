//! The response hook of anomaly detection (R9): for a new anomaly at a facility whose class requires blocking, the
//! configured command is run with the tenant, the account and the alert id, one at a time on its own thread with a
//! time limit, and every run — or refusal to queue one — is sealed in the audit trail.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Duration;

use kuzet_api::WalAudit;
use kuzet_model::audit::{Actor, AuditRecord, Outcome};
use kuzet_model::{ObjectId, TenantId};
use kuzet_store::WalHandle;

/// How long a block command may run before it is killed.
const TIME_LIMIT: Duration = Duration::from_secs(30);
/// Requests waiting for the command; more are refused (and audited as such), never dropped silently.
const QUEUE: usize = 64;

/// One account to block.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub tenant: TenantId,
    pub account: String,
    pub alert: ObjectId,
    pub detail: serde_json::Value,
}

pub struct Responder {
    sender: SyncSender<BlockRequest>,
    audit: WalAudit,
    wal: WalHandle,
}

impl Responder {
    /// `command`: the program and its fixed arguments; `None` when no command is configured.
    pub fn start(command: &[String], wal: WalHandle) -> anyhow::Result<Option<Self>> {
        if command.is_empty() {
            return Ok(None);
        }
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE);
        let audit = WalAudit::new(wal.clone(), kuzet_ingest::IdGenerator::new()?);
        let worker_audit = WalAudit::new(wal.clone(), kuzet_ingest::IdGenerator::new()?);
        let worker_wal = wal.clone();
        let command = command.to_vec();
        std::thread::Builder::new()
            .name("kuzet-respond".into())
            .spawn(move || serve(&command, receiver, &worker_audit, &worker_wal))?;
        Ok(Some(Self { sender, audit, wal }))
    }

    /// Queues a block; a full queue is refused, audited and counted.
    pub fn block(&self, request: BlockRequest) {
        if let Err(TrySendError::Full(request) | TrySendError::Disconnected(request)) =
            self.sender.try_send(request)
        {
            metrics::counter!("kuzet_response_block_total", "outcome" => "refused").increment(1);
            seal(
                &self.audit,
                &self.wal,
                record(
                    &request,
                    Outcome::Failure,
                    "not run: the block queue is full".into(),
                ),
            );
        }
    }
}

fn serve(command: &[String], requests: Receiver<BlockRequest>, audit: &WalAudit, wal: &WalHandle) {
    for request in requests {
        let (outcome, detail) = match run(command, &request) {
            Ok(detail) => (Outcome::Success, detail),
            Err(detail) => (Outcome::Failure, detail),
        };
        let label = if outcome == Outcome::Success {
            "success"
        } else {
            "failure"
        };
        metrics::counter!("kuzet_response_block_total", "outcome" => label).increment(1);
        seal(audit, wal, record(&request, outcome, detail));
    }
}

/// Runs the command; `Ok` when it exits 0 within the time limit. Either way, says what happened.
fn run(command: &[String], request: &BlockRequest) -> Result<String, String> {
    let program = &command[0];
    let mut child = Command::new(program)
        .args(&command[1..])
        .arg(request.tenant.as_str())
        .arg(&request.account)
        .arg(request.alert.as_str())
        .env("KUZET_ALERT", request.detail.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: cannot start: {e}"))?;
    let mut stderr = child.stderr.take();
    let (done, finished) = std::sync::mpsc::channel();
    let id = child.id();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done.send(());
        status
    });
    if finished.recv_timeout(TIME_LIMIT).is_err() {
        // Still running: stop it, so that one stuck command does not hold every later block.
        let _ = Command::new("kill")
            .args(["-KILL", &id.to_string()])
            .status();
    }
    let status = waiter
        .join()
        .map_err(|_| format!("{program}: the waiting thread failed"))?
        .map_err(|e| format!("{program}: {e}"))?;
    let mut errors = String::new();
    if let Some(stderr) = stderr.as_mut() {
        let _ = stderr.take(512).read_to_string(&mut errors);
    }
    let account = &request.account;
    if status.success() {
        Ok(format!("account {account}: {program} exited 0"))
    } else {
        Err(format!(
            "account {account}: {program} {status}: {}",
            errors.trim()
        ))
    }
}

fn record(request: &BlockRequest, outcome: Outcome, detail: String) -> AuditRecord {
    AuditRecord::new(
        jiff::Timestamp::now(),
        Actor {
            user: None,
            via: "detection".into(),
            address: None,
        },
        "response.block",
        outcome,
    )
    .tenant(Some(request.tenant.clone()))
    .object(format!("alert:{}", request.alert))
    .detail(detail)
    .bounded()
}

fn seal(audit: &WalAudit, wal: &WalHandle, record: AuditRecord) {
    if let Err(error) = wal.append_blocking(vec![audit.raw_event(&record)]) {
        tracing::error!(%error, ?record, "the audit record of a block could not be sealed");
    }
}
