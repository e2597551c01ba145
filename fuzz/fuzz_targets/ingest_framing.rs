//! Feeds arbitrary bytes, split at fuzzer-chosen points, to the syslog stream decoder: it must never panic, never
//! hand out a message longer than its limit, and never hold more than limit + one read in its buffer.
#![no_main]

use kuzet_ingest::codec::{BytesMut, Decoder};
use kuzet_ingest::{SyslogFrame, SyslogFrameDecoder};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split % 32) + 1;
    let mut decoder = SyslogFrameDecoder::new(LIMIT);
    let mut buffer = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buffer.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(SyslogFrame::Message(m))) => assert!(m.len() <= LIMIT),
                Ok(Some(SyslogFrame::Oversized(n))) => assert!(n > LIMIT),
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(
            buffer.len() <= LIMIT + 16 + chunk,
            "buffer grew to {}",
            buffer.len()
        );
    }
    while let Ok(Some(frame)) = decoder.decode_eof(&mut buffer) {
        if let SyslogFrame::Message(m) = frame {
            assert!(m.len() <= LIMIT);
        }
    }
});
