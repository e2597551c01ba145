//! Archive format version 2: a record is the raw event as received with the envelope that parsing needs, and a
//! block stores its records as columns (`docs/formats/archive.md`, "Version 2"). The hashed record bytes are a
//! canonical encoding that the columns rebuild exactly; nothing in a block is trusted before it hashes right.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};

use crate::codec::{Reader, put_i64, put_u16, put_u32, put_u64, put_varint, unzigzag, zigzag};
use crate::codec::{timestamp_from_nanos, timestamp_nanos};
use crate::merkle::Hash;

/// The record version of archive format 2.
pub const RECORD_VERSION_2: u8 = 2;
/// Records per group of the block locator.
pub const LOCATOR_GROUP: usize = 256;
/// Words of one locator group: the XOR of all its leaves, then one per bit of a position in the group.
pub const LOCATOR_WORDS: usize = 1 + LOCATOR_GROUP.trailing_zeros() as usize;
/// Bytes of one locator group.
pub const LOCATOR_GROUP_BYTES: usize = LOCATOR_WORDS * 4;
/// The longest parse profile a record can name.
pub const MAX_PROFILE_LEN: usize = 255;

/// Offset of the fields after the common prefix (version, index, seq, id) of every record version.
const PREFIX_LEN: usize = 1 + 8 + 8 + 16;

/// The envelope and bytes of a version 2 record, borrowed from its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub received_nanos: i64,
    pub transport: u8,
    pub format: u8,
    pub peer: Option<SocketAddr>,
    pub source: &'a str,
    /// Names the parser and its options that derive the normalized event (e.g. `kuzet-parse/1 max_skew=300s`).
    pub profile: &'a str,
    /// The event's bytes exactly as received (framing removed).
    pub bytes: &'a [u8],
}

impl RawRecord<'_> {
    /// The raw event this record holds, attributed to `tenant` (whose log it is in).
    pub fn to_raw_event(&self, id: EventId, tenant: &TenantId) -> Result<RawEvent, String> {
        Ok(RawEvent {
            id,
            tenant: tenant.clone(),
            source: SourceId::new(self.source).map_err(|e| format!("source: {e}"))?,
            received: timestamp_from_nanos(self.received_nanos)
                .ok_or("receive time is out of range")?,
            transport: Transport::from_code(self.transport)
                .ok_or_else(|| format!("unknown transport code {}", self.transport))?,
            peer: self.peer,
            format: FormatHint::from_code(self.format)
                .ok_or_else(|| format!("unknown format code {}", self.format))?,
            bytes: self.bytes.to_vec(),
        })
    }
}

/// Appends the canonical (hashed) bytes of a version 2 record.
pub fn encode_record(
    out: &mut Vec<u8>,
    record_index: u64,
    wal_seq: u64,
    raw: &RawEvent,
    profile: &str,
) {
    out.push(RECORD_VERSION_2);
    put_u64(out, record_index);
    put_u64(out, wal_seq);
    out.extend_from_slice(&raw.id.to_bytes());
    put_i64(out, timestamp_nanos(raw.received));
    out.push(raw.transport.code());
    out.push(raw.format.code());
    put_peer(out, raw.peer);
    put_short(out, raw.source.as_str().as_bytes());
    put_short(out, profile.as_bytes());
    out.extend_from_slice(&raw.bytes);
}

fn put_peer(out: &mut Vec<u8>, peer: Option<SocketAddr>) {
    match peer {
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
}

/// A length byte and at most 255 bytes (slugs are ≤ 63 bytes, profiles are cut by the writer to 255).
fn put_short(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len().min(255);
    out.push(len as u8);
    out.extend_from_slice(&bytes[..len]);
}

fn read_peer(r: &mut Reader<'_>) -> Result<Option<SocketAddr>, String> {
    let short = || "record is truncated in its peer".to_string();
    Ok(match r.u8().ok_or_else(short)? {
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
    })
}

fn read_str<'a>(r: &mut Reader<'a>, what: &str) -> Result<&'a str, String> {
    let len = r
        .u8()
        .ok_or_else(|| format!("record is truncated in its {what}"))? as usize;
    let bytes = r
        .take(len)
        .ok_or_else(|| format!("record is truncated in its {what}"))?;
    std::str::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8"))
}

/// Decodes what follows the common prefix of a version 2 record's canonical bytes.
pub fn decode_raw(record: &[u8]) -> Result<RawRecord<'_>, String> {
    let mut r = Reader::new(record.get(PREFIX_LEN..).ok_or("record is truncated")?);
    let received_nanos = r.i64().ok_or("record is truncated in its receive time")?;
    let transport = r.u8().ok_or("record is truncated in its transport")?;
    let format = r.u8().ok_or("record is truncated in its format")?;
    let peer = read_peer(&mut r)?;
    let source = read_str(&mut r, "source")?;
    let profile = read_str(&mut r, "profile")?;
    Ok(RawRecord {
        received_nanos,
        transport,
        format,
        peer,
        source,
        profile,
        bytes: r.rest(),
    })
}

/// The locator of a block: per group of [`LOCATOR_GROUP`] records, the XOR of the first four bytes of all their
/// leaf hashes, then for each bit of a position in the group the XOR over the records whose position has that bit
/// set. When one record of a group changes, the words that differ spell its position; it is not hashed.
pub fn locator(leaves: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaves.len().div_ceil(LOCATOR_GROUP) * LOCATOR_GROUP_BYTES);
    for group in leaves.chunks(LOCATOR_GROUP) {
        for word in locator_words(group) {
            put_u32(&mut out, word);
        }
    }
    out
}

fn locator_words(group: &[Hash]) -> [u32; LOCATOR_WORDS] {
    let mut words = [0u32; LOCATOR_WORDS];
    for (position, leaf) in group.iter().enumerate() {
        let w = u32::from_le_bytes([leaf[0], leaf[1], leaf[2], leaf[3]]);
        words[0] ^= w;
        for (bit, word) in words[1..].iter_mut().enumerate() {
            if position >> bit & 1 == 1 {
                *word ^= w;
            }
        }
    }
    words
}

/// What comparing a stored locator with the leaves of the records read found, group by group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// Exactly one record of the group differs: its position in the block.
    One(usize),
    /// Several records of the group (positions `start..end` of the block) differ.
    Several(usize, usize),
}

/// The records whose leaves differ from what the stored locator recorded. Empty when the locator agrees.
pub fn locate(stored: &[u8], leaves: &[Hash]) -> Vec<Located> {
    let mut out = Vec::new();
    for (g, group) in leaves.chunks(LOCATOR_GROUP).enumerate() {
        let start = g * LOCATOR_GROUP;
        let end = start + group.len();
        let Some(bytes) = stored.get(g * LOCATOR_GROUP_BYTES..(g + 1) * LOCATOR_GROUP_BYTES) else {
            out.push(Located::Several(start, end));
            continue;
        };
        let now = locator_words(group);
        let mut diff = [0u32; LOCATOR_WORDS];
        for (i, d) in diff.iter_mut().enumerate() {
            let word = u32::from_le_bytes([
                bytes[i * 4],
                bytes[i * 4 + 1],
                bytes[i * 4 + 2],
                bytes[i * 4 + 3],
            ]);
            *d = word ^ now[i];
        }
        if diff.iter().all(|&d| d == 0) {
            continue;
        }
        let all = diff[0];
        let single = all != 0 && diff[1..].iter().all(|&d| d == 0 || d == all);
        let position: usize = diff[1..]
            .iter()
            .enumerate()
            .filter(|(_, d)| **d == all)
            .map(|(bit, _)| 1 << bit)
            .sum();
        if single && position < group.len() {
            out.push(Located::One(start + position));
        } else {
            out.push(Located::Several(start, end));
        }
    }
    out
}

/// Builds a version 2 block payload from canonical records, column by column.
#[derive(Debug, Default)]
pub struct ColumnBuilder {
    count: u32,
    sources: Vec<Vec<u8>>,
    profiles: Vec<Vec<u8>>,
    seqs: Vec<u8>,
    ids: Vec<u128>,
    received: Vec<u8>,
    source_ix: Vec<u8>,
    profile_ix: Vec<u8>,
    transports: Vec<u8>,
    formats: Vec<u8>,
    peer_tags: Vec<u8>,
    peer_addrs: Vec<u8>,
    peer_ports: Vec<u8>,
    lens: Vec<u8>,
    bytes: Vec<u8>,
    prev_seq: u64,
}

fn dictionary_index(dictionary: &mut Vec<Vec<u8>>, value: &[u8]) -> u64 {
    // Blocks hold a handful of sources and profiles: a linear search beats hashing.
    match dictionary.iter().position(|v| v == value) {
        Some(i) => i as u64,
        None => {
            dictionary.push(value.to_vec());
            (dictionary.len() - 1) as u64
        }
    }
}

impl ColumnBuilder {
    pub fn len(&self) -> u32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Roughly the payload's length so far (before compression), for sealing blocks at `block_bytes`.
    pub fn approx_len(&self) -> usize {
        self.bytes.len() + self.count as usize * 24
    }

    /// Adds one record given by its canonical bytes; the records of a block are pushed at their positions
    /// (`first_record`, `first_record + 1`, …), so the index is not stored.
    pub fn push(&mut self, record: &[u8]) -> Result<(), String> {
        let mut r = Reader::new(record);
        let version = r.u8().ok_or("record is truncated")?;
        if version != RECORD_VERSION_2 {
            return Err(format!("record version {version} in a version 2 block"));
        }
        let _index = r.u64().ok_or("record is truncated")?;
        let seq = r.u64().ok_or("record is truncated")?;
        let id = u128::from_be_bytes(r.array::<16>().ok_or("record is truncated")?);
        let raw = decode_raw(record)?;
        put_varint(&mut self.seqs, seq.wrapping_sub(self.prev_seq));
        self.prev_seq = seq;
        self.ids.push(id);
        let id_nanos = i64::try_from(EventId::from_u128(id).unix_millis())
            .unwrap_or(0)
            .saturating_mul(1_000_000);
        put_varint(
            &mut self.received,
            zigzag(raw.received_nanos.wrapping_sub(id_nanos)),
        );
        let s = dictionary_index(&mut self.sources, raw.source.as_bytes());
        put_varint(&mut self.source_ix, s);
        let p = dictionary_index(&mut self.profiles, raw.profile.as_bytes());
        put_varint(&mut self.profile_ix, p);
        self.transports.push(raw.transport);
        self.formats.push(raw.format);
        match raw.peer {
            None => self.peer_tags.push(0),
            Some(SocketAddr::V4(a)) => {
                self.peer_tags.push(4);
                self.peer_addrs.extend_from_slice(&a.ip().octets());
                put_u16(&mut self.peer_ports, a.port());
            }
            Some(SocketAddr::V6(a)) => {
                self.peer_tags.push(6);
                self.peer_addrs.extend_from_slice(&a.ip().octets());
                put_u16(&mut self.peer_ports, a.port());
            }
        }
        put_varint(&mut self.lens, raw.bytes.len() as u64);
        self.bytes.extend_from_slice(raw.bytes);
        self.count += 1;
        Ok(())
    }

    /// Writes the payload (columns, then the locator of `leaves`) into `out` and empties the builder.
    pub fn finish(&mut self, leaves: &[Hash], out: &mut Vec<u8>) {
        out.clear();
        put_u32(out, self.count);
        for (dictionary, wide) in [(&self.sources, false), (&self.profiles, true)] {
            put_u16(out, dictionary.len() as u16);
            for value in dictionary {
                if wide {
                    put_u16(out, value.len() as u16);
                } else {
                    out.push(value.len() as u8);
                }
                out.extend_from_slice(value);
            }
        }
        out.extend_from_slice(&self.seqs);
        // Event ids as deltas from the previous id, big-endian, one plane per byte: the per-process random part
        // cancels out and the time and counter parts change slowly, so most planes are runs of one byte.
        let start = out.len();
        out.resize(start + 16 * self.ids.len(), 0);
        let n = self.ids.len();
        let mut prev = 0u128;
        for (i, id) in self.ids.iter().enumerate() {
            let delta = id.wrapping_sub(prev).to_be_bytes();
            prev = *id;
            for (plane, byte) in delta.iter().enumerate() {
                out[start + plane * n + i] = *byte;
            }
        }
        for column in [
            &self.received,
            &self.source_ix,
            &self.profile_ix,
            &self.transports,
            &self.formats,
            &self.peer_tags,
            &self.peer_addrs,
            &self.peer_ports,
            &self.lens,
            &self.bytes,
        ] {
            out.extend_from_slice(column);
        }
        out.extend_from_slice(&locator(leaves));
        self.clear();
    }

    /// Empties the builder, keeping its buffers for the next block.
    fn clear(&mut self) {
        self.count = 0;
        self.prev_seq = 0;
        self.sources.clear();
        self.profiles.clear();
        self.ids.clear();
        for column in [
            &mut self.seqs,
            &mut self.received,
            &mut self.source_ix,
            &mut self.profile_ix,
            &mut self.transports,
            &mut self.formats,
            &mut self.peer_tags,
            &mut self.peer_addrs,
            &mut self.peer_ports,
            &mut self.lens,
            &mut self.bytes,
        ] {
            column.clear();
        }
    }
}

/// The records of a version 2 payload rebuilt as their canonical bytes: one buffer, each record's end offset.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Columns<'a> {
    pub buf: Vec<u8>,
    pub ends: Vec<usize>,
    /// The stored locator (not hashed).
    pub locator: &'a [u8],
}

impl Columns<'_> {
    pub fn record(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.ends.len()).map(|i| self.record(i))
    }
}

fn lookup<'a>(dictionary: &[&'a [u8]], ix: u64, i: usize, what: &str) -> Result<&'a [u8], String> {
    usize::try_from(ix)
        .ok()
        .and_then(|ix| dictionary.get(ix).copied())
        .ok_or_else(|| format!("record {i}: {what} index {ix} is out of its dictionary"))
}

/// Rebuilds the canonical records of a version 2 payload whose first record is `first_record`. Any
/// inconsistency (a column cut short, bytes left over, an index out of its dictionary) is an error naming it.
pub fn decode_columns(payload: &[u8], first_record: u64) -> Result<Columns<'_>, String> {
    let mut r = Reader::new(payload);
    let count = r.u32().ok_or("payload is truncated in its record count")? as usize;
    // Every record takes at least 16 bytes of id planes: a larger count is damage, not a reason to allocate.
    if count > payload.len() / 16 {
        return Err(format!(
            "payload claims {count} records in {} bytes",
            payload.len()
        ));
    }
    let mut dictionaries: [Vec<&[u8]>; 2] = [Vec::new(), Vec::new()];
    for (d, dictionary) in dictionaries.iter_mut().enumerate() {
        let what = if d == 0 { "sources" } else { "profiles" };
        let short = || format!("payload is truncated in its {what}");
        let n = r.u16().ok_or_else(short)?;
        for _ in 0..n {
            let len = if d == 0 {
                usize::from(r.u8().ok_or_else(short)?)
            } else {
                usize::from(r.u16().ok_or_else(short)?)
            };
            let value = r.take(len).ok_or_else(short)?;
            if std::str::from_utf8(value).is_err() {
                return Err(format!("payload {what}: an entry is not UTF-8"));
            }
            dictionary.push(value);
        }
    }
    let [sources, profiles] = dictionaries;
    let varints = |r: &mut Reader<'_>, what: &str| -> Result<Vec<u64>, String> {
        (0..count)
            .map(|_| {
                r.varint()
                    .ok_or_else(|| format!("payload is truncated in its {what} column"))
            })
            .collect()
    };
    let seqs = varints(&mut r, "sequence")?;
    let planes = r
        .take(16 * count)
        .ok_or("payload is truncated in its ids")?;
    let received = varints(&mut r, "receive time")?;
    let source_ix = varints(&mut r, "source")?;
    let profile_ix = varints(&mut r, "profile")?;
    let transports = r
        .take(count)
        .ok_or("payload is truncated in its transports")?;
    let formats = r.take(count).ok_or("payload is truncated in its formats")?;
    let tags = r.take(count).ok_or("payload is truncated in its peers")?;
    let mut addr_len = 0;
    let mut ported = 0;
    for &tag in tags {
        match tag {
            0 => {}
            4 => (addr_len, ported) = (addr_len + 4, ported + 1),
            6 => (addr_len, ported) = (addr_len + 16, ported + 1),
            other => return Err(format!("unknown peer tag {other}")),
        }
    }
    let mut addrs = Reader::new(
        r.take(addr_len)
            .ok_or("payload is truncated in its peers")?,
    );
    let mut ports = Reader::new(
        r.take(ported * 2)
            .ok_or("payload is truncated in its peer ports")?,
    );
    let lens = varints(&mut r, "length")?;
    let total: u64 = lens.iter().fold(0u64, |a, l| a.saturating_add(*l));
    let mut bytes = Reader::new(
        r.take(usize::try_from(total).unwrap_or(usize::MAX))
            .ok_or("payload is truncated in its event bytes")?,
    );
    let locator_len = count.div_ceil(LOCATOR_GROUP) * LOCATOR_GROUP_BYTES;
    let locator = r
        .take(locator_len)
        .ok_or("payload is truncated in its locator")?;
    if r.remaining() != 0 {
        return Err(format!("{} bytes after the locator", r.remaining()));
    }
    let mut buf = Vec::with_capacity(payload.len() + count * 48);
    let mut ends = Vec::with_capacity(count);
    let (mut seq, mut id) = (0u64, 0u128);
    for i in 0..count {
        seq = seq.wrapping_add(seqs[i]);
        let mut delta = [0u8; 16];
        for (plane, byte) in delta.iter_mut().enumerate() {
            *byte = planes[plane * count + i];
        }
        id = id.wrapping_add(u128::from_be_bytes(delta));
        let id_nanos = i64::try_from(EventId::from_u128(id).unix_millis())
            .unwrap_or(0)
            .saturating_mul(1_000_000);
        let source = lookup(&sources, source_ix[i], i, "source")?;
        let profile = lookup(&profiles, profile_ix[i], i, "profile")?;
        if source.len() > 255 || profile.len() > MAX_PROFILE_LEN {
            return Err(format!("record {i}: source or profile is too long"));
        }
        buf.push(RECORD_VERSION_2);
        put_u64(&mut buf, first_record + i as u64);
        put_u64(&mut buf, seq);
        buf.extend_from_slice(&id.to_be_bytes());
        put_i64(&mut buf, id_nanos.wrapping_add(unzigzag(received[i])));
        buf.push(transports[i]);
        buf.push(formats[i]);
        buf.push(tags[i]);
        match tags[i] {
            4 => buf.extend_from_slice(addrs.take(4).ok_or("peer addresses are short")?),
            6 => buf.extend_from_slice(addrs.take(16).ok_or("peer addresses are short")?),
            _ => {}
        }
        if tags[i] != 0 {
            buf.extend_from_slice(ports.take(2).ok_or("peer ports are short")?);
        }
        put_short(&mut buf, source);
        put_short(&mut buf, profile);
        let len = usize::try_from(lens[i]).map_err(|_| "event length is out of range")?;
        buf.extend_from_slice(bytes.take(len).ok_or("event bytes are short")?);
        ends.push(buf.len());
    }
    Ok(Columns { buf, ends, locator })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use proptest::prelude::*;

    fn raw(
        id: u128,
        millis: i64,
        peer: Option<SocketAddr>,
        source: &str,
        bytes: Vec<u8>,
    ) -> RawEvent {
        RawEvent {
            id: EventId::from_u128(id),
            tenant: TenantId::new("t1").unwrap(),
            source: SourceId::new(source).unwrap(),
            received: jiff::Timestamp::from_millisecond(millis).unwrap(),
            transport: Transport::Tcp,
            peer,
            format: FormatHint::Syslog,
            bytes,
        }
    }

    fn records(events: &[(u64, RawEvent, &str)], first: u64) -> Vec<Vec<u8>> {
        events
            .iter()
            .enumerate()
            .map(|(i, (seq, raw, profile))| {
                let mut out = Vec::new();
                encode_record(&mut out, first + i as u64, *seq, raw, profile);
                out
            })
            .collect()
    }

    fn build(records: &[Vec<u8>]) -> Vec<u8> {
        let mut builder = ColumnBuilder::default();
        for r in records {
            builder.push(r).unwrap();
        }
        let leaves: Vec<_> = records.iter().map(|r| leaf_hash(r)).collect();
        let mut out = Vec::new();
        builder.finish(&leaves, &mut out);
        assert!(builder.is_empty());
        out
    }

    fn peer_strategy() -> impl Strategy<Value = Option<SocketAddr>> {
        prop_oneof![
            Just(None),
            any::<([u8; 4], u16)>().prop_map(|(ip, port)| Some(SocketAddr::from((ip, port)))),
            any::<([u8; 16], u16)>().prop_map(|(ip, port)| Some(SocketAddr::from((ip, port)))),
        ]
    }

    proptest! {
        #[test]
        fn columns_rebuild_every_record_exactly(
            first in 0u64..1 << 40,
            events in prop::collection::vec(
                (any::<u64>(), any::<u128>(), 0i64..4_000_000_000_000, peer_strategy(),
                 prop::sample::select(vec!["fw1", "dc-01", "web"]),
                 prop::sample::select(vec!["kuzet-parse/1", "kuzet-parse/2 max_skew=60s"]),
                 prop::collection::vec(any::<u8>(), 0..300)),
                0..600),
        ) {
            let events: Vec<_> = events
                .into_iter()
                .map(|(seq, id, millis, peer, source, profile, bytes)| (seq, raw(id, millis, peer, source, bytes), profile))
                .collect();
            let records = records(&events, first);
            let payload = build(&records);
            let columns = decode_columns(&payload, first).unwrap();
            prop_assert_eq!(columns.records().count(), records.len());
            for (got, want) in columns.records().zip(&records) {
                prop_assert_eq!(got, &want[..]);
            }
            let leaves: Vec<_> = records.iter().map(|r| leaf_hash(r)).collect();
            prop_assert!(locate(columns.locator, &leaves).is_empty());
            for (i, (_, raw, profile)) in events.iter().enumerate() {
                let back = decode_raw(columns.record(i)).unwrap();
                prop_assert_eq!(back.profile, *profile);
                prop_assert_eq!(back.to_raw_event(raw.id, &raw.tenant).unwrap(), raw.clone());
            }
        }

        #[test]
        fn any_cut_or_flip_of_a_payload_is_an_error_or_changes_a_record(
            cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8,
        ) {
            let events: Vec<_> = (0..40u64)
                .map(|n| (n + 1, raw(u128::from(n) << 80 | 7, 1_700_000_000_000 + n as i64, None, "fw1",
                    format!("line {n}").into_bytes()), "p"))
                .collect();
            let records = records(&events, 5);
            let payload = build(&records);
            let cut = cut.index(payload.len());
            prop_assert!(decode_columns(&payload[..cut], 5).is_err());
            let mut flipped = payload.clone();
            let at = flip.index(flipped.len());
            flipped[at] ^= 1 << bit;
            if let Ok(columns) = decode_columns(&flipped, 5) {
                let same = columns.records().eq(records.iter().map(|r| &r[..]));
                // Only a flip inside the (unhashed) locator leaves every record as it was.
                prop_assert!(!same || at >= payload.len() - LOCATOR_GROUP_BYTES);
            }
        }
    }

    #[test]
    fn a_source_or_profile_that_is_not_utf8_is_refused_by_name() {
        let records = records(
            &[(
                1,
                raw(7, 1_700_000_000_000, None, "fw1", b"x".to_vec()),
                "p",
            )],
            0,
        );
        let mut payload = build(&records);
        // count (4), source count (2), "fw1" (1 + 3), profile count (2), profile length (2), then the profile.
        let at = 4 + 2 + 4 + 2 + 2;
        assert_eq!(payload[at], b'p');
        payload[at] = 0xff;
        let err = decode_columns(&payload, 0).unwrap_err();
        assert!(err.contains("profiles") && err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn one_changed_record_per_group_is_located_and_several_are_bounded() {
        let leaves: Vec<Hash> = (0..700u32).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let stored = locator(&leaves);
        let mut changed = leaves.clone();
        changed[3] = leaf_hash(b"x");
        changed[300] = leaf_hash(b"y");
        changed[600] = leaf_hash(b"z");
        changed[601] = leaf_hash(b"w");
        assert_eq!(
            locate(&stored, &changed),
            vec![
                Located::One(3),
                Located::One(300),
                Located::Several(512, 700)
            ]
        );
        assert!(locate(&stored, &leaves).is_empty());
    }
}
