//! Feeds arbitrary bytes to the EVTX path: `kuzet_parse::evtx::records` must never panic or loop and must end,
//! and `parse_record` must never panic on any record it yields nor on arbitrary bytes, keeping the original.
//!
//! Random bytes seldom start with a valid file header, so odd first bytes put the rest behind a fixed valid file
//! header and a chunk magic: the fuzzer then spends its time inside chunk, template and record decoding.
#![no_main]

use kuzet_model::{Event, EventId, SourceId, TenantId};
use libfuzzer_sys::fuzz_target;

const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;

fn event(bytes: &[u8]) -> Option<Event> {
    let (Ok(tenant), Ok(source)) = (TenantId::new("fuzz"), SourceId::new("fuzz")) else {
        return None;
    };
    let received = "2026-11-22T03:00:00Z".parse().unwrap_or_default();
    Some(Event::new(
        EventId::from_parts(1, 1),
        tenant,
        source,
        received,
        bytes.to_vec(),
    ))
}

/// A file header the parser accepts (version 3.1, one chunk), followed by `chunk` as the first chunk.
fn with_valid_header(chunk: &[u8]) -> Vec<u8> {
    let mut file = vec![0u8; FILE_HEADER];
    file[..8].copy_from_slice(b"ElfFile\0");
    file[24..32].copy_from_slice(&1u64.to_le_bytes()); // next record id
    file[32..36].copy_from_slice(&128u32.to_le_bytes()); // header size
    file[36..38].copy_from_slice(&1u16.to_le_bytes()); // minor version
    file[38..40].copy_from_slice(&3u16.to_le_bytes()); // major version
    file[40..42].copy_from_slice(&(FILE_HEADER as u16).to_le_bytes());
    file[42..44].copy_from_slice(&1u16.to_le_bytes()); // chunk count
    let checksum = crc32(&file[..120]);
    file[124..128].copy_from_slice(&checksum.to_le_bytes());
    let mut body = b"ElfChnk\0".to_vec();
    body.extend_from_slice(chunk);
    body.resize(CHUNK, 0);
    file.extend_from_slice(&body);
    file
}

/// CRC-32 (IEEE), bitwise: the header checksum is only checked for a warning, but a right one keeps the logs quiet.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let file = if mode & 1 == 1 {
        with_valid_header(&rest[..rest.len().min(CHUNK - 8)])
    } else {
        data.to_vec()
    };
    let mut items = 0usize;
    for record in kuzet_parse::evtx::records(file) {
        items += 1;
        // One chunk holds at most ~65536 / 24 records; far more means the iterator does not end.
        assert!(items < 100_000, "records() does not terminate");
        let Ok(json) = record else {
            continue;
        };
        let Some(mut e) = event(&json) else {
            return;
        };
        kuzet_parse::evtx::parse_record(&mut e, &json);
        assert_eq!(e.original, json);
        let _ = e.to_ecs_json();
    }

    let Some(mut e) = event(data) else {
        return;
    };
    kuzet_parse::evtx::parse_record(&mut e, data);
    assert_eq!(e.original, data);
    let _ = e.to_ecs_json();
});
