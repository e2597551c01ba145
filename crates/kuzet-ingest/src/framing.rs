//! Syslog stream framing (RFC 6587, also used by RFC 5425 over TLS): octet counting (`LEN SP MSG`) or
//! delimiters (LF, NUL, CRLF). The framing is detected from the first byte of a connection — a digit means octet
//! counting, anything else (normally `<`) delimiters — and then fixed for the connection.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

/// What the decoder hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogFrame {
    /// One message, framing removed (no count, no delimiter, no trailing CR).
    Message(BytesMut),
    /// A message longer than the limit was refused and is skipped. Reported once per message, when it is
    /// detected, so the caller counts the drop. The number is the message's length when known (octet counting, or
    /// a whole line in one read), else the bytes seen when it was refused; always more than the limit.
    Oversized(usize),
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The connection uses octet counting but a frame header is not `DIGITS SP`: without a length there is no
    /// way to find the next frame, so the connection must be closed.
    #[error("syslog frame: invalid octet count `{0}`")]
    BadOctetCount(String),
    /// The connection ended in the middle of an octet-counted frame.
    #[error("syslog frame: connection ended {missing} bytes before the end of a frame")]
    Incomplete { missing: usize },
    #[error("syslog stream: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Undetected,
    OctetCounting,
    Delimited,
}

/// Longest octet count accepted, in digits: 10 digits already exceed any sane `max_message_bytes`.
const MAX_COUNT_DIGITS: usize = 10;

/// A tokio-util [`Decoder`] for syslog streams with a maximum message size. Oversized messages are skipped exactly
/// (octet counting) or up to the next delimiter, never truncated.
#[derive(Debug, Clone)]
pub struct SyslogFrameDecoder {
    max_message_bytes: usize,
    mode: Mode,
    /// Octet counting: bytes of an oversized frame still to skip.
    skip: usize,
    /// Delimited: discarding an oversized line until the next delimiter.
    discarding: bool,
    /// Delimited: how much of the buffer is known to hold no delimiter, so a long line is scanned once.
    scanned: usize,
    /// Octet counting: length of the frame whose bytes are still arriving.
    pending: Option<(usize, usize)>,
}

impl SyslogFrameDecoder {
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            max_message_bytes: max_message_bytes.max(1),
            mode: Mode::Undetected,
            skip: 0,
            discarding: false,
            scanned: 0,
            pending: None,
        }
    }

    /// True while an oversized message is being skipped: the connection is in the middle of a frame even when the
    /// read buffer is empty.
    pub fn in_partial_frame(&self) -> bool {
        self.skip > 0 || self.discarding
    }

    /// `Some(true)` for octet counting, `Some(false)` for delimiters, `None` before the first byte.
    pub fn octet_counting(&self) -> Option<bool> {
        match self.mode {
            Mode::Undetected => None,
            Mode::OctetCounting => Some(true),
            Mode::Delimited => Some(false),
        }
    }

    fn decode_delimited(&mut self, buf: &mut BytesMut) -> Option<SyslogFrame> {
        loop {
            let start = self.scanned.min(buf.len());
            match memchr::memchr2(b'\n', 0, &buf[start..]) {
                Some(offset) => {
                    let end = start + offset;
                    self.scanned = 0;
                    let mut line = buf.split_to(end + 1);
                    line.truncate(end);
                    if line.last() == Some(&b'\r') {
                        line.truncate(line.len() - 1);
                    }
                    if line.is_empty() {
                        continue;
                    }
                    if line.len() > self.max_message_bytes {
                        return Some(SyslogFrame::Oversized(line.len()));
                    }
                    return Some(SyslogFrame::Message(line));
                }
                None => {
                    // One extra byte of slack: a line of exactly the limit may still be followed by its CR.
                    if buf.len() > self.max_message_bytes + 1 {
                        let skipped = buf.len();
                        buf.clear();
                        self.scanned = 0;
                        self.discarding = true;
                        return Some(SyslogFrame::Oversized(skipped));
                    }
                    self.scanned = buf.len();
                    return None;
                }
            }
        }
    }

    fn decode_octet_counted(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<SyslogFrame>, FramingError> {
        if let Some((header, length)) = self.pending {
            if buf.len() < header + length {
                return Ok(None);
            }
            self.pending = None;
            buf.advance(header);
            return Ok(Some(SyslogFrame::Message(buf.split_to(length))));
        }
        let Some(space) = buf
            .iter()
            .take(MAX_COUNT_DIGITS + 1)
            .position(|b| !b.is_ascii_digit())
        else {
            if buf.len() > MAX_COUNT_DIGITS {
                return Err(bad_count(&buf[..=MAX_COUNT_DIGITS]));
            }
            return Ok(None);
        };
        if buf[space] != b' ' || space == 0 || buf[0] == b'0' {
            // Only the header, so that the message does not depend on how much else was read.
            return Err(bad_count(&buf[..=space]));
        }
        let mut length: u64 = 0;
        for digit in &buf[..space] {
            length = length * 10 + u64::from(digit - b'0');
        }
        let header = space + 1;
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if length > self.max_message_bytes {
            buf.advance(header);
            let now = length.min(buf.len());
            buf.advance(now);
            self.skip = length - now;
            return Ok(Some(SyslogFrame::Oversized(length)));
        }
        if buf.len() < header + length {
            buf.reserve(header + length - buf.len());
            self.pending = Some((header, length));
            return Ok(None);
        }
        buf.advance(header);
        Ok(Some(SyslogFrame::Message(buf.split_to(length))))
    }
}

fn bad_count(header: &[u8]) -> FramingError {
    FramingError::BadOctetCount(String::from_utf8_lossy(header).into_owned())
}

/// Bytes senders put between frames (a newline after an octet-counted frame, keep-alive NULs).
fn is_filler(byte: u8) -> bool {
    matches!(byte, b'\n' | b'\r' | 0 | b' ')
}

impl Decoder for SyslogFrameDecoder {
    type Item = SyslogFrame;
    type Error = FramingError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<SyslogFrame>, FramingError> {
        if self.skip > 0 {
            let now = self.skip.min(buf.len());
            buf.advance(now);
            self.skip -= now;
            if self.skip > 0 {
                return Ok(None);
            }
        }
        if self.discarding {
            match memchr::memchr2(b'\n', 0, buf) {
                Some(end) => {
                    buf.advance(end + 1);
                    self.discarding = false;
                }
                None => {
                    buf.clear();
                    return Ok(None);
                }
            }
        }
        // Delimited streams need no filler skipping: empty lines are skipped anyway, and a leading space can be
        // part of a message.
        if self.mode != Mode::Delimited && self.pending.is_none() && self.scanned == 0 {
            let filler = buf.iter().take_while(|b| is_filler(**b)).count();
            buf.advance(filler);
        }
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if self.mode == Mode::Undetected {
            self.mode = if first.is_ascii_digit() {
                Mode::OctetCounting
            } else {
                Mode::Delimited
            };
        }
        match self.mode {
            // A sender that mixes a plain line into an octet-counted stream (rsyslog does after a restart) gets
            // that line read up to its newline, as rsyslog's own receiver does.
            Mode::OctetCounting if self.pending.is_none() && !first.is_ascii_digit() => {
                Ok(self.decode_delimited(buf))
            }
            Mode::OctetCounting if self.scanned == 0 => self.decode_octet_counted(buf),
            _ => Ok(self.decode_delimited(buf)),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<SyslogFrame>, FramingError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if self.skip > 0 || self.discarding {
            buf.clear();
            self.skip = 0;
            self.discarding = false;
            return Ok(None);
        }
        if let Some((header, length)) = self.pending.take() {
            let missing = (header + length).saturating_sub(buf.len());
            buf.clear();
            return Err(FramingError::Incomplete { missing });
        }
        if buf.is_empty() {
            return Ok(None);
        }
        if self.mode == Mode::OctetCounting && self.scanned == 0 {
            // An unfinished count.
            let missing = 1;
            buf.clear();
            return Err(FramingError::Incomplete { missing });
        }
        // A last line without its newline: the sender closed right after it, it is still a message.
        self.scanned = 0;
        let mut line = buf.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.is_empty() {
            return Ok(None);
        }
        if line.len() > self.max_message_bytes {
            return Ok(Some(SyslogFrame::Oversized(line.len())));
        }
        Ok(Some(SyslogFrame::Message(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `chunks` one after another, then ends the stream; returns messages (as strings) and `!N` for an
    /// oversized message of N bytes, or the error text.
    fn decode_chunks(max: usize, chunks: &[&[u8]]) -> Result<Vec<String>, String> {
        let mut decoder = SyslogFrameDecoder::new(max);
        let mut buffer = BytesMut::new();
        let mut out = Vec::new();
        let mut push = |frame: SyslogFrame| match frame {
            SyslogFrame::Message(m) => out.push(String::from_utf8_lossy(&m).into_owned()),
            SyslogFrame::Oversized(n) => out.push(format!("!{n}")),
        };
        for chunk in chunks {
            buffer.extend_from_slice(chunk);
            while let Some(frame) = decoder.decode(&mut buffer).map_err(|e| e.to_string())? {
                push(frame);
            }
        }
        while let Some(frame) = decoder.decode_eof(&mut buffer).map_err(|e| e.to_string())? {
            push(frame);
        }
        Ok(out)
    }

    fn decode_all(max: usize, bytes: &[u8]) -> Result<Vec<String>, String> {
        decode_chunks(max, &[bytes])
    }

    #[test]
    fn octet_counting() {
        assert_eq!(
            decode_all(100, b"5 <13>a11 <13>b c d\xd0\xb0").unwrap(),
            vec!["<13>a", "<13>b c d\u{430}"]
        );
    }

    #[test]
    fn octet_counting_tolerates_newlines_between_frames() {
        assert_eq!(
            decode_all(100, b"3 abc\n3 def\r\n").unwrap(),
            vec!["abc", "def"]
        );
    }

    #[test]
    fn lf_nul_and_crlf_delimiters() {
        assert_eq!(
            decode_all(100, b"<1>a\n<2>b\0<3>c\r\n\n\n<4>d").unwrap(),
            vec!["<1>a", "<2>b", "<3>c", "<4>d"]
        );
    }

    #[test]
    fn a_leading_space_of_a_delimited_message_is_kept() {
        assert_eq!(decode_all(100, b"<1>a\n b\n").unwrap(), vec!["<1>a", " b"]);
    }

    #[test]
    fn split_across_reads() {
        let chunks: [&[u8]; 5] = [b"1", b"0 0123", b"45678", b"9", b"2 ab"];
        assert_eq!(
            decode_chunks(100, &chunks).unwrap(),
            vec!["0123456789", "ab"]
        );
        let chunks: [&[u8]; 4] = [b"<1>he", b"llo\r", b"\n<2>wor", b"ld\n"];
        assert_eq!(
            decode_chunks(100, &chunks).unwrap(),
            vec!["<1>hello", "<2>world"]
        );
    }

    #[test]
    fn oversized_octet_counted_frame_is_skipped_exactly() {
        let mut stream = b"3 abc20 ".to_vec();
        stream.extend_from_slice(&[b'x'; 20]);
        stream.extend_from_slice(b"3 def");
        assert_eq!(decode_all(10, &stream).unwrap(), vec!["abc", "!20", "def"]);
        // The same, arriving a byte at a time.
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(
            decode_chunks(10, &chunks).unwrap(),
            vec!["abc", "!20", "def"]
        );
    }

    #[test]
    fn oversized_line_is_discarded_up_to_the_next_newline() {
        let mut stream = b"<1>ok\n".to_vec();
        stream.extend_from_slice(&[b'y'; 50]);
        stream.extend_from_slice(b"\n<2>next\n");
        assert_eq!(
            decode_all(10, &stream).unwrap(),
            vec!["<1>ok", "!50", "<2>next"]
        );
        let chunks: Vec<&[u8]> = stream.chunks(7).collect();
        let out = decode_chunks(10, &chunks).unwrap();
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0], "<1>ok");
        assert!(out[1].starts_with('!'));
        assert_eq!(out[2], "<2>next");
    }

    #[test]
    fn a_message_of_exactly_the_limit_passes() {
        assert_eq!(decode_all(5, b"5 abcde").unwrap(), vec!["abcde"]);
        assert_eq!(decode_all(5, b"abcde\r\n").unwrap(), vec!["abcde"]);
        assert_eq!(decode_all(5, b"6 abcdef").unwrap(), vec!["!6"]);
        assert_eq!(decode_all(5, b"abcdef\n").unwrap(), vec!["!6"]);
    }

    #[test]
    fn garbage_in_an_octet_counted_stream() {
        // A plain line in an octet-counted stream is read up to its newline.
        assert_eq!(
            decode_all(100, b"3 abc<5>plain line\n3 def").unwrap(),
            vec!["abc", "<5>plain line", "def"]
        );
        // Digits without a space after them cannot be framed: the connection is closed.
        let err = decode_all(100, b"3 abc12x45").unwrap_err();
        assert!(err.contains("invalid octet count `12x`"), "{err}");
        let err = decode_all(100, b"123456789012 x").unwrap_err();
        assert!(err.contains("invalid octet count"), "{err}");
        let err = decode_all(100, b"05 abcde").unwrap_err();
        assert!(err.contains("invalid octet count"), "{err}");
    }

    #[test]
    fn a_frame_cut_by_the_end_of_the_stream_is_reported() {
        let err = decode_all(100, b"10 abc").unwrap_err();
        assert!(err.contains("7 bytes before the end"), "{err}");
        // A last line without newline is still a message.
        assert_eq!(
            decode_all(100, b"<1>a\n<2>b").unwrap(),
            vec!["<1>a", "<2>b"]
        );
    }

    fn message() -> impl Strategy<Value = Vec<u8>> {
        // Delimited framing cannot carry LF or NUL inside a message, and a message's trailing CR is framing.
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(|mut m| {
            for b in m.iter_mut() {
                if matches!(*b, b'\n' | 0 | b'\r') {
                    *b = b'.';
                }
            }
            m[0] = b'<';
            m
        })
    }

    proptest! {
        #[test]
        fn any_framing_split_anywhere_decodes_the_same(
            messages in proptest::collection::vec(message(), 0..20),
            octet in any::<bool>(),
            newline_after_count in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let mut stream = Vec::new();
            for m in &messages {
                if octet {
                    stream.extend_from_slice(format!("{} ", m.len()).as_bytes());
                    stream.extend_from_slice(m);
                    if newline_after_count {
                        stream.push(b'\n');
                    }
                } else {
                    stream.extend_from_slice(m);
                    stream.extend_from_slice(if newline_after_count { b"\r\n" } else { b"\n" });
                }
            }
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut last = 0;
            for p in points {
                chunks.push(&stream[last..p]);
                last = p;
            }
            chunks.push(&stream[last..]);
            let expected: Vec<String> =
                messages.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
            prop_assert_eq!(decode_chunks(64, &chunks).unwrap(), expected);
        }

        #[test]
        fn arbitrary_bytes_decode_the_same_however_they_are_split(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b' '), Just(0u8), Just(b'\r'), b'0'..=b'9', Just(b'<'), any::<u8>()],
                0..200,
            ),
            chunk in 1usize..20,
        ) {
            // Oversized lines report what had arrived when refused; only the refusal itself must agree.
            let normalize = |out: Result<Vec<String>, String>| {
                out.map(|v| {
                    v.into_iter()
                        .map(|m| if m.starts_with('!') { "!".to_owned() } else { m })
                        .collect::<Vec<_>>()
                })
            };
            let whole = normalize(decode_all(16, &bytes));
            let chunks: Vec<&[u8]> = bytes.chunks(chunk).collect();
            prop_assert_eq!(normalize(decode_chunks(16, &chunks)), whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_never_exceed_the_limit(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            chunk in 1usize..50,
        ) {
            let chunks: Vec<&[u8]> = bytes.chunks(chunk).collect();
            if let Ok(out) = decode_chunks(16, &chunks) {
                for m in out {
                    prop_assert!(m.starts_with('!') || m.len() <= 16 * 3);
                }
            }
        }
    }
}
