//! Syslog stream framing throughput (MB/s) for both framings, and the JSON body splitter behind HTTP ingest.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark that cannot set up should stop loudly

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kuzet_ingest::codec::{BytesMut, Decoder};
use kuzet_ingest::{SyslogFrame, SyslogFrameDecoder};

const MESSAGE: &[u8] = b"<34>1 2026-11-22T03:15:32.123Z web-01.example.kz sshd 4242 - - Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2";

fn stream(octet_counting: bool, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * (MESSAGE.len() + 5));
    for _ in 0..count {
        if octet_counting {
            out.extend_from_slice(format!("{} ", MESSAGE.len()).as_bytes());
            out.extend_from_slice(MESSAGE);
        } else {
            out.extend_from_slice(MESSAGE);
            out.push(b'\n');
        }
    }
    out
}

/// Decodes `bytes` as if they arrived in 16 KiB reads, like the TCP listener does.
fn decode(bytes: &[u8]) -> usize {
    let mut decoder = SyslogFrameDecoder::new(64 * 1024);
    let mut buffer = BytesMut::with_capacity(32 * 1024);
    let mut frames = 0;
    for chunk in bytes.chunks(16 * 1024) {
        buffer.extend_from_slice(chunk);
        while let Ok(Some(frame)) = decoder.decode(&mut buffer) {
            if let SyslogFrame::Message(m) = frame {
                frames += usize::from(!m.is_empty());
            }
        }
    }
    frames
}

fn framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("syslog_framing");
    for (name, octet) in [("lf", false), ("octet_counting", true)] {
        let bytes = stream(octet, 10_000);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| assert_eq!(decode(std::hint::black_box(&bytes)), 10_000))
        });
    }
    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
