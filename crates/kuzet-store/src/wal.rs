//! The write-ahead log: raw events made durable (group commit, one `fdatasync` per group) before they are
//! acknowledged. Files `wal/<first-seq, 20 digits>.wal`; see `docs/formats/wal.md`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::codec::{Reader, put_i64, put_u16, put_u64, timestamp_from_nanos, timestamp_nanos};

pub const WAL_MAGIC: &[u8; 8] = b"KUZETWAL";
pub const WAL_VERSION: u16 = 1;
pub const WAL_HEADER_LEN: usize = 16;
const RECORD_VERSION: u8 = 1;
/// The largest record payload. Appends of a raw event that would not fit are refused (`EventTooLarge`), so a
/// larger length found at recovery is damage, never an acknowledged record.
pub const MAX_RECORD: u32 = 64 << 20;
/// The payload bytes of a record besides the event's bytes: version, seq, id, two slugs of ≤ 63 bytes with their
/// lengths, time, codes and the longest peer.
const RECORD_OVERHEAD: usize = 1 + 8 + 16 + 2 * 64 + 8 + 2 + 19;
/// The largest raw event the WAL accepts.
pub const MAX_EVENT_BYTES: usize = MAX_RECORD as usize - RECORD_OVERHEAD;

/// Refuses a batch holding an event the WAL could not replay.
fn check_sizes(batch: &[RawEvent]) -> Result<(), StoreError> {
    match batch.iter().find(|raw| raw.bytes.len() > MAX_EVENT_BYTES) {
        Some(raw) => Err(StoreError::EventTooLarge {
            id: raw.id,
            bytes: raw.bytes.len(),
            limit: MAX_EVENT_BYTES,
        }),
        None => Ok(()),
    }
}

pub fn wal_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

fn parse_wal_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

pub fn file_header() -> [u8; WAL_HEADER_LEN] {
    let mut out = [0u8; WAL_HEADER_LEN];
    out[..8].copy_from_slice(WAL_MAGIC);
    out[8..10].copy_from_slice(&WAL_VERSION.to_le_bytes());
    out
}

/// Appends one framed record `[len u32][crc32 u32][payload]`.
pub fn encode_record(out: &mut Vec<u8>, seq: u64, raw: &RawEvent) {
    let frame_start = out.len();
    out.extend_from_slice(&[0u8; 8]);
    let payload_start = out.len();
    out.push(RECORD_VERSION);
    put_u64(out, seq);
    out.extend_from_slice(&raw.id.to_bytes());
    put_slug(out, raw.tenant.as_str());
    put_slug(out, raw.source.as_str());
    put_i64(out, timestamp_nanos(raw.received));
    out.push(raw.transport.code());
    out.push(raw.format.code());
    match raw.peer {
        None => out.push(0),
        Some(SocketAddr::V4(a)) => {
            out.push(4);
            out.extend_from_slice(&a.ip().octets());
            put_u16(out, a.port());
        }
        Some(SocketAddr::V6(a)) => {
            out.push(6);
            out.extend_from_slice(&a.ip().octets());
            put_u16(out, a.port());
        }
    }
    out.extend_from_slice(&raw.bytes);
    let payload_len = out.len() - payload_start;
    let crc = crc32fast::hash(&out[payload_start..]);
    // A raw event larger than 4 GiB cannot reach here: listeners cap event sizes far below.
    out[frame_start..frame_start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[frame_start + 4..frame_start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn put_slug(out: &mut Vec<u8>, s: &str) {
    // Slugs are at most 63 bytes (validated by kuzet-model).
    out.push(s.len().min(255) as u8);
    out.extend_from_slice(&s.as_bytes()[..s.len().min(255)]);
}

pub fn decode_payload(payload: &[u8]) -> Result<(u64, RawEvent), String> {
    let mut r = Reader::new(payload);
    let short = || "wal record is truncated".to_string();
    let version = r.u8().ok_or_else(short)?;
    if version != RECORD_VERSION {
        return Err(format!("unsupported wal record version {version}"));
    }
    let seq = r.u64().ok_or_else(short)?;
    let id = EventId::from_bytes(r.array::<16>().ok_or_else(short)?);
    let tenant_len = r.u8().ok_or_else(short)? as usize;
    let tenant =
        std::str::from_utf8(r.take(tenant_len).ok_or_else(short)?).map_err(|e| e.to_string())?;
    let tenant = TenantId::new(tenant).map_err(|e| e.to_string())?;
    let source_len = r.u8().ok_or_else(short)? as usize;
    let source =
        std::str::from_utf8(r.take(source_len).ok_or_else(short)?).map_err(|e| e.to_string())?;
    let source = SourceId::new(source).map_err(|e| e.to_string())?;
    let received = timestamp_from_nanos(r.i64().ok_or_else(short)?).ok_or("bad receive time")?;
    let transport =
        Transport::from_code(r.u8().ok_or_else(short)?).ok_or("unknown transport code")?;
    let format = FormatHint::from_code(r.u8().ok_or_else(short)?).ok_or("unknown format code")?;
    let peer = match r.u8().ok_or_else(short)? {
        0 => None,
        4 => {
            let ip = Ipv4Addr::from(r.array::<4>().ok_or_else(short)?);
            Some(SocketAddr::new(IpAddr::V4(ip), r.u16().ok_or_else(short)?))
        }
        6 => {
            let ip = Ipv6Addr::from(r.array::<16>().ok_or_else(short)?);
            Some(SocketAddr::new(IpAddr::V6(ip), r.u16().ok_or_else(short)?))
        }
        other => return Err(format!("unknown peer tag {other}")),
    };
    let bytes = r.rest().to_vec();
    Ok((
        seq,
        RawEvent {
            id,
            tenant,
            source,
            received,
            transport,
            peer,
            format,
            bytes,
        },
    ))
}

/// One WAL file found at start-up.
#[derive(Debug, Clone)]
pub struct WalFile {
    pub path: PathBuf,
    pub first_seq: u64,
}

/// Lists WAL files in sequence order.
pub fn list_files(dir: &Path) -> Result<Vec<WalFile>, StoreError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        let name = entry.file_name();
        if let Some(first_seq) = name.to_str().and_then(parse_wal_file_name) {
            files.push(WalFile {
                path: entry.path(),
                first_seq,
            });
        }
    }
    files.sort_by_key(|f| f.first_seq);
    Ok(files)
}

/// Reads a WAL file, calling `each` for every intact record. In the last file (`last`), a torn tail (a frame
/// cut short by the end of the file, a bad CRC, an impossible length) ends the file: it is truncated there,
/// because only unacknowledged data can follow the last fsync. Anywhere else — an earlier file, which the writer
/// completed and fsync'd before starting the next, or a record whose CRC holds but which does not decode (an
/// unknown version) — it is an error that stops start-up: cutting there could lose acknowledged events.
/// Returns the number of bytes truncated.
pub fn replay_file(
    path: &Path,
    last: bool,
    mut each: impl FnMut(u64, RawEvent),
) -> Result<u64, StoreError> {
    let bytes = fs::read(path).map_err(StoreError::io(path))?;
    if bytes.len() < WAL_HEADER_LEN || &bytes[..8] != WAL_MAGIC {
        if bytes.len() < WAL_HEADER_LEN && WAL_MAGIC.starts_with(&bytes[..bytes.len().min(8)]) {
            // Crashed while creating the file: nothing was ever acknowledged from it.
            truncate_file(path, 0)?;
            return Ok(bytes.len() as u64);
        }
        return Err(StoreError::corrupt(
            path,
            "not a kuzet write-ahead log file",
        ));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != WAL_VERSION {
        return Err(StoreError::corrupt(
            path,
            format!("unsupported wal version {version}"),
        ));
    }
    let mut pos = WAL_HEADER_LEN;
    let mut damage = None;
    while pos < bytes.len() {
        let Some(frame) = bytes.get(pos..pos + 8) else {
            damage = Some("a record frame is cut short");
            break;
        };
        let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if len > MAX_RECORD {
            damage = Some("a record length is larger than any record written");
            break;
        }
        let Some(payload) = bytes.get(pos + 8..pos + 8 + len as usize) else {
            damage = Some("a record is cut short");
            break;
        };
        if crc32fast::hash(payload) != crc {
            damage = Some("a record's checksum does not match");
            break;
        }
        let (seq, raw) = decode_payload(payload).map_err(|e| {
            StoreError::corrupt(
                path,
                format!("offset {pos}: an intact record does not decode ({e}); refusing to start (a newer kuzet wrote it, or the file was changed)"),
            )
        })?;
        each(seq, raw);
        pos += 8 + len as usize;
    }
    let torn = (bytes.len() - pos) as u64;
    if let Some(damage) = damage
        && !last
    {
        return Err(StoreError::corrupt(
            path,
            format!(
                "offset {pos}: {damage}, {torn} bytes before the end of a write-ahead log file that is not the last;                  refusing to start rather than drop what may have been acknowledged"
            ),
        ));
    }
    if torn > 0 {
        tracing::warn!(file = %path.display(), bytes = torn, "truncating torn write-ahead log tail");
        truncate_file(path, pos as u64)?;
    }
    Ok(torn)
}

/// Cuts a torn or unverifiable tail off a file and makes the cut durable before anything is appended after it.
pub(crate) fn truncate_file(path: &Path, len: u64) -> Result<(), StoreError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(StoreError::io(path))?;
    file.set_len(len)
        .and_then(|()| crate::durable::sync_file(&file))
        .map_err(StoreError::io(path))
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content, never a mix or nothing:
/// written aside, fsync'd, renamed over, and the directory entry fsync'd.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    crate::durable::open_created(|| File::create(&tmp))
        .and_then(|mut f| {
            f.write_all(bytes)
                .and_then(|()| crate::durable::sync_file(&f))
        })
        .map_err(StoreError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(StoreError::io(path))?;
    sync_dir(dir)
}

pub(crate) use crate::durable::sync_dir;

/// A batch waiting in the queue with the channel its caller waits on.
/// What the writer thread receives: a batch to append, or the store's request to stop accepting.
pub(crate) enum WalMessage {
    Append(WalRequest),
    /// Sent by `Store::shutdown`: close the queue (later appends fail with `Closed`), commit what is queued, exit.
    Close,
}

pub(crate) struct WalRequest {
    pub batch: Vec<RawEvent>,
    pub ack: oneshot::Sender<Result<(), StoreError>>,
}

/// Enqueues batches for the WAL writer. Cheap to clone.
#[derive(Clone)]
pub struct WalHandle {
    pub(crate) tx: mpsc::Sender<WalMessage>,
    pub(crate) stats: Arc<crate::store::Counters>,
}

impl std::fmt::Debug for WalHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalHandle")
    }
}

impl WalHandle {
    /// Why the store stopped accepting events, once it has (`None` while it works): callers that must not act
    /// unless they can record it (the API's audit trail) check this first.
    pub fn failure(&self) -> Option<String> {
        if !self.stats.failed.load(Ordering::Acquire) {
            return None;
        }
        Some(
            self.stats
                .failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
                .unwrap_or_else(|| "the store stopped".into()),
        )
    }

    /// Waits for queue room, then resolves once the batch is fsync'd.
    pub async fn append(&self, batch: Vec<RawEvent>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        check_sizes(&batch)?;
        let (ack, done) = oneshot::channel();
        self.tx
            .send(WalMessage::Append(WalRequest { batch, ack }))
            .await
            .map_err(|_| StoreError::Closed)?;
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        done.await.map_err(|_| StoreError::Closed)?
    }

    /// `Err(QueueFull)` immediately when the queue has no room; else resolves once fsync'd.
    pub async fn try_append(&self, batch: Vec<RawEvent>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        check_sizes(&batch)?;
        let (ack, done) = oneshot::channel();
        self.tx
            .try_send(WalMessage::Append(WalRequest { batch, ack }))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => StoreError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
            })?;
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        done.await.map_err(|_| StoreError::Closed)?
    }

    /// For callers outside an async runtime (the CLI's file import). Must not be called from an async task.
    pub fn append_blocking(&self, batch: Vec<RawEvent>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        check_sizes(&batch)?;
        let (ack, done) = oneshot::channel();
        self.tx
            .blocking_send(WalMessage::Append(WalRequest { batch, ack }))
            .map_err(|_| StoreError::Closed)?;
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        done.blocking_recv().map_err(|_| StoreError::Closed)?
    }
}

/// Records made durable, handed to the sealer in sequence order.
pub(crate) type SealerInput = Vec<(u64, RawEvent)>;

/// The WAL file being appended to.
pub(crate) struct OpenWal {
    file: File,
    path: PathBuf,
    len: u64,
    first_seq: u64,
}

/// The writer thread's state.
pub(crate) struct WalWriter {
    pub dir: PathBuf,
    pub segment_bytes: u64,
    pub next_seq: u64,
    pub file: Option<OpenWal>,
    /// Closed files, oldest first; deleted once wholly sealed.
    pub closed: Vec<WalFile>,
    pub sealed_watermark: Arc<AtomicU64>,
    pub stats: Arc<crate::store::Counters>,
}

/// Most bytes one group commit gathers before writing.
const GROUP_BYTES: usize = 8 << 20;

impl WalWriter {
    fn open_file(&mut self) -> Result<(), StoreError> {
        let path = self.dir.join(wal_file_name(self.next_seq));
        let mut file = crate::durable::open_created(|| {
            OpenOptions::new().create_new(true).write(true).open(&path)
        })
        .map_err(StoreError::io(&path))?;
        file.write_all(&file_header())
            .and_then(|()| crate::durable::sync_file(&file))
            .map_err(StoreError::io(&path))?;
        sync_dir(&self.dir)?;
        self.file = Some(OpenWal {
            file,
            path,
            len: WAL_HEADER_LEN as u64,
            first_seq: self.next_seq,
        });
        Ok(())
    }

    fn close_file(&mut self) {
        if let Some(open) = self.file.take() {
            self.closed.push(WalFile {
                path: open.path,
                first_seq: open.first_seq,
            });
        }
    }

    /// Writes one group and fsyncs it; returns the records for the sealer.
    fn commit(
        &mut self,
        requests: &mut [WalRequest],
        buffer: &mut Vec<u8>,
    ) -> Result<SealerInput, StoreError> {
        if self
            .file
            .as_ref()
            .is_some_and(|open| open.len >= self.segment_bytes)
        {
            self.close_file();
        }
        if self.file.is_none() {
            self.open_file()?;
        }
        buffer.clear();
        let mut records = Vec::with_capacity(requests.iter().map(|r| r.batch.len()).sum());
        for request in requests.iter_mut() {
            for raw in request.batch.drain(..) {
                encode_record(buffer, self.next_seq, &raw);
                records.push((self.next_seq, raw));
                self.next_seq += 1;
            }
        }
        let Some(open) = self.file.as_mut() else {
            return Err(StoreError::Closed);
        };
        if let Err(source) = open
            .file
            .write_all(buffer)
            .and_then(|()| crate::durable::sync_file(&open.file))
        {
            // The file's tail is now unknown: cut it back to the last acknowledged record, and start the next group
            // in a fresh file. Recovery truncates a torn tail only in the last file, so if this cut fails too, the
            // next start-up stops and names the file. The sequence numbers are not reused.
            let err = StoreError::Io {
                path: open.path.clone(),
                source,
            };
            if let Err(cut) = open
                .file
                .set_len(open.len)
                .and_then(|()| crate::durable::sync_file(&open.file))
            {
                tracing::error!(file = %open.path.display(), error = %cut,
                    "cannot cut a failed write off the write-ahead log; start-up will stop at it");
            }
            self.close_file();
            return Err(err);
        }
        open.len += buffer.len() as u64;
        self.stats
            .wal_appended
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        self.stats
            .wal_bytes
            .fetch_add(buffer.len() as u64, Ordering::Relaxed);
        self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("kuzet_store_wal_appended_total").increment(records.len() as u64);
        metrics::counter!("kuzet_store_wal_fsyncs_total").increment(1);
        Ok(records)
    }

    /// Deletes closed files whose every record is sealed: all seqs of a file are below its successor's first seq.
    fn trim(&mut self) {
        let watermark = self.sealed_watermark.load(Ordering::Acquire);
        while let Some(oldest) = self.closed.first() {
            let next_first = self
                .closed
                .get(1)
                .map(|f| f.first_seq)
                .or_else(|| self.file.as_ref().map(|open| open.first_seq));
            let Some(next_first) = next_first else {
                break;
            };
            if next_first.saturating_sub(1) > watermark {
                break;
            }
            if let Err(e) = fs::remove_file(&oldest.path) {
                tracing::warn!(file = %oldest.path.display(), error = %e, "cannot delete sealed write-ahead log file");
                break;
            }
            self.closed.remove(0);
        }
    }

    /// The thread body: group commit until every handle is dropped, then close the sealer channel.
    pub fn run(
        mut self,
        mut rx: mpsc::Receiver<WalMessage>,
        sealer: std::sync::mpsc::SyncSender<SealerInput>,
        max_batches: usize,
    ) {
        let mut buffer = Vec::with_capacity(1 << 20);
        let mut requests: Vec<WalRequest> = Vec::new();
        while let Some(message) = rx.blocking_recv() {
            let first = match message {
                WalMessage::Append(request) => request,
                WalMessage::Close => {
                    // Already-queued batches are still received (and committed) before `None` ends the loop.
                    rx.close();
                    continue;
                }
            };
            let mut bytes: usize = first.batch.iter().map(|r| r.bytes.len() + 64).sum();
            requests.push(first);
            while requests.len() < max_batches && bytes < GROUP_BYTES {
                match rx.try_recv() {
                    Ok(WalMessage::Append(req)) => {
                        bytes += req.batch.iter().map(|r| r.bytes.len() + 64).sum::<usize>();
                        requests.push(req);
                    }
                    Ok(WalMessage::Close) => rx.close(),
                    Err(_) => break,
                }
            }
            // Counted after a successful send and uncounted here, so the gauge may dip below zero for an instant;
            // readers clamp it.
            self.stats
                .queue_depth
                .fetch_sub(requests.len() as i64, Ordering::Relaxed);
            let outcome = self.commit(&mut requests, &mut buffer);
            match outcome {
                Ok(records) => {
                    for request in requests.drain(..) {
                        let _ = request.ack.send(Ok(()));
                    }
                    // Blocks when the sealer lags: the queue then fills and listeners feel backpressure.
                    if sealer.send(records).is_err() {
                        tracing::error!("sealer stopped; write-ahead log writer stops accepting");
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "write-ahead log write failed");
                    metrics::counter!("kuzet_store_wal_errors_total").increment(1);
                    for request in requests.drain(..) {
                        let _ = request.ack.send(Err(StoreError::Io {
                            path: self.dir.clone(),
                            source: std::io::Error::other(e.to_string()),
                        }));
                    }
                }
            }
            self.trim();
        }
        // Answer anything still queued after the sender side closed.
        rx.close();
        while let Ok(message) = rx.try_recv() {
            if let WalMessage::Append(request) = message {
                let _ = request.ack.send(Err(StoreError::Closed));
            }
        }
        self.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(id: u128, peer: Option<SocketAddr>, bytes: Vec<u8>, nanos: i64) -> RawEvent {
        RawEvent {
            id: EventId::from_u128(id),
            tenant: TenantId::new("tenant-a").unwrap(),
            source: SourceId::new("fw1").unwrap(),
            received: jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap(),
            transport: Transport::Tls,
            peer,
            format: FormatHint::Cef,
            bytes,
        }
    }

    proptest! {
        #[test]
        fn wal_records_round_trip(seq: u64, id: u128, bytes: Vec<u8>, nanos in -1_000_000_000_000_000_000i64..4_000_000_000_000_000_000,
                                  v6: bool, port: u16) {
            let peer = if v6 {
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port))
            } else {
                Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), port))
            };
            for peer in [None, peer] {
                let r = raw(id, peer, bytes.clone(), nanos);
                let mut out = Vec::new();
                encode_record(&mut out, seq, &r);
                let len = u32::from_le_bytes(out[..4].try_into().unwrap()) as usize;
                prop_assert_eq!(len + 8, out.len());
                prop_assert_eq!(crc32fast::hash(&out[8..]), u32::from_le_bytes(out[4..8].try_into().unwrap()));
                let (s, back) = decode_payload(&out[8..]).unwrap();
                prop_assert_eq!(s, seq);
                prop_assert_eq!(back, r);
            }
        }
    }

    #[test]
    fn torn_tail_is_truncated_and_intact_records_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(wal_file_name(1));
        let mut bytes = file_header().to_vec();
        for seq in 1..=3 {
            encode_record(&mut bytes, seq, &raw(seq as u128, None, vec![b'x'; 10], 0));
        }
        let intact = bytes.len();
        encode_record(&mut bytes, 4, &raw(4, None, vec![b'y'; 10], 0));
        bytes.truncate(bytes.len() - 3);
        fs::write(&path, &bytes).unwrap();
        let mut seen = Vec::new();
        let torn = replay_file(&path, true, |seq, _| seen.push(seq)).unwrap();
        assert_eq!(seen, vec![1, 2, 3]);
        assert_eq!(torn as usize, bytes.len() - intact);
        assert_eq!(fs::metadata(&path).unwrap().len() as usize, intact);
    }

    /// A file of three records and the byte offset of the second.
    fn three_records(dir: &Path) -> (PathBuf, Vec<u8>, usize) {
        let path = dir.join(wal_file_name(1));
        let mut bytes = file_header().to_vec();
        let mut second = 0;
        for seq in 1..=3 {
            if seq == 2 {
                second = bytes.len();
            }
            encode_record(&mut bytes, seq, &raw(seq as u128, None, vec![b'x'; 10], 0));
        }
        (path, bytes, second)
    }

    #[test]
    fn damage_in_a_file_that_is_not_the_last_stops_start_up_and_cuts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut bytes, second) = three_records(dir.path());
        bytes[second + 12] ^= 0xff; // inside the second record's payload: its CRC fails
        fs::write(&path, &bytes).unwrap();
        let err = replay_file(&path, false, |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&wal_file_name(1))
                && err.contains("checksum")
                && err.contains("not the last"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), bytes, "nothing truncated");
        // The same damage in the last file is a torn tail.
        let mut seen = Vec::new();
        replay_file(&path, true, |seq, _| seen.push(seq)).unwrap();
        assert_eq!(seen, vec![1]);
    }

    #[test]
    fn an_intact_record_of_an_unknown_version_stops_start_up_even_in_the_last_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut bytes, second) = three_records(dir.path());
        bytes[second + 8] = 9; // the version byte; the CRC is made to match again
        let len = u32::from_le_bytes(bytes[second..second + 4].try_into().unwrap()) as usize;
        let crc = crc32fast::hash(&bytes[second + 8..second + 8 + len]);
        bytes[second + 4..second + 8].copy_from_slice(&crc.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        let err = replay_file(&path, true, |_, _| {}).unwrap_err().to_string();
        assert!(
            err.contains("version 9") && err.contains("refusing to start"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), bytes, "nothing truncated");
    }

    #[test]
    fn appends_refuse_what_replay_could_not_read() {
        let mut big = raw(1, None, Vec::new(), 0);
        big.bytes = vec![b'x'; MAX_EVENT_BYTES + 1];
        let err = check_sizes(&[raw(2, None, vec![1], 0), big]).unwrap_err();
        assert!(matches!(err, StoreError::EventTooLarge { .. }), "{err}");
        assert!(err.to_string().contains("larger than the"), "{err}");
        // The largest event accepted, with the longest slugs and an IPv6 peer, still fits a record.
        let mut largest = raw(3, Some("[::1]:514".parse().unwrap()), Vec::new(), 0);
        largest.tenant = TenantId::new("t".repeat(63)).unwrap();
        largest.source = SourceId::new("s".repeat(63)).unwrap();
        largest.bytes = vec![b'x'; MAX_EVENT_BYTES];
        check_sizes(std::slice::from_ref(&largest)).unwrap();
        let mut out = Vec::new();
        encode_record(&mut out, u64::MAX, &largest);
        assert!(out.len() - 8 <= MAX_RECORD as usize);
    }

    #[test]
    fn trim_deletes_only_files_wholly_below_the_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let watermark = Arc::new(AtomicU64::new(0));
        let mut writer = WalWriter {
            dir: dir.path().to_path_buf(),
            segment_bytes: 1 << 20,
            next_seq: 1,
            file: None,
            closed: Vec::new(),
            sealed_watermark: watermark.clone(),
            stats: Arc::default(),
        };
        // Files starting at seq 1, 11, 21; the open one at 31.
        for first in [1u64, 11, 21] {
            writer.next_seq = first;
            writer.open_file().unwrap();
            writer.close_file();
        }
        writer.next_seq = 31;
        writer.open_file().unwrap();
        let count = || fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(count(), 4);
        watermark.store(9, Ordering::Release);
        writer.trim();
        assert_eq!(count(), 4, "seq 10 of the first file is not sealed yet");
        watermark.store(10, Ordering::Release);
        writer.trim();
        assert_eq!(count(), 3);
        watermark.store(35, Ordering::Release);
        writer.trim();
        assert_eq!(count(), 1, "only the open file remains");
        assert!(dir.path().join(wal_file_name(31)).exists());
    }

    /// The byte layout documented in docs/formats/wal.md, pinned.
    #[test]
    fn record_layout_is_stable() {
        let r = raw(
            0x0123_4567_89ab_cdef_0011_2233_4455_6677,
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 514)),
            b"hi".to_vec(),
            1_000_000_007,
        );
        let mut out = Vec::new();
        encode_record(&mut out, 7, &r);
        assert_eq!(hex::encode(&out[..4]), "39000000", "payload length 57");
        assert_eq!(
            u32::from_le_bytes(out[4..8].try_into().unwrap()),
            crc32fast::hash(&out[8..])
        );
        assert_eq!(
            hex::encode(&out[8..]),
            concat!(
                "01",                               // version
                "0700000000000000",                 // seq 7
                "0123456789abcdef0011223344556677", // event id, big-endian
                "0874656e616e742d61",               // tenant "tenant-a"
                "03667731",                         // source "fw1"
                "07ca9a3b00000000",                 // received, nanoseconds
                "02",                               // transport tls
                "03",                               // format cef
                "04",
                "0a000001",
                "0202", // peer 10.0.0.1:514
                "6869", // bytes "hi"
            )
        );
    }
}
