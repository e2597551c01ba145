//! `key=value key2="quoted value"` bodies: FortiGate, auditd and the generic fallback all speak this dialect.

use std::borrow::Cow;

use crate::common::unescape_with;

/// One pair as written. `value` has quotes removed and `\"`/`\\` unescaped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pair<'a> {
    pub key: &'a str,
    pub value: Cow<'a, str>,
    pub quoted: bool,
}

/// Iterates pairs separated by whitespace. Tokens without `=` are skipped and counted in `stray`; an unterminated
/// quote takes the rest of the text and sets `unterminated`.
pub(crate) struct Pairs<'a> {
    text: &'a str,
    pos: usize,
    pub stray: usize,
    pub unterminated: bool,
}

pub(crate) fn pairs(text: &str) -> Pairs<'_> {
    Pairs {
        text,
        pos: 0,
        stray: 0,
        unterminated: false,
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']' | b'@' | b'/')
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Pair<'a>;

    fn next(&mut self) -> Option<Pair<'a>> {
        let bytes = self.text.as_bytes();
        loop {
            while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.pos >= bytes.len() {
                return None;
            }
            let start = self.pos;
            let mut key_end = start;
            while key_end < bytes.len() && is_key_byte(bytes[key_end]) {
                key_end += 1;
            }
            if key_end == start || bytes.get(key_end) != Some(&b'=') {
                // Not a pair: skip the token (quoted stretches included, so `"a b"` counts once).
                self.stray += 1;
                self.pos = skip_token(bytes, start);
                continue;
            }
            let key = &self.text[start..key_end];
            let value_start = key_end + 1;
            match bytes.get(value_start) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let body_start = value_start + 1;
                    let mut i = body_start;
                    let mut escaped = false;
                    while i < bytes.len() {
                        match bytes[i] {
                            b'\\' if quote == b'"' => {
                                escaped = true;
                                i += 2;
                                continue;
                            }
                            b if b == quote => break,
                            _ => i += 1,
                        }
                    }
                    let end = i.min(bytes.len());
                    if i >= bytes.len() {
                        self.unterminated = true;
                    }
                    let raw = &self.text[body_start..end.max(body_start)];
                    self.pos = (end + 1).min(bytes.len());
                    let value = if escaped {
                        unescape(raw)
                    } else {
                        Cow::Borrowed(raw)
                    };
                    return Some(Pair {
                        key,
                        value,
                        quoted: true,
                    });
                }
                _ => {
                    let mut end = value_start;
                    while end < bytes.len() && !bytes[end].is_ascii_whitespace() {
                        end += 1;
                    }
                    self.pos = end;
                    return Some(Pair {
                        key,
                        value: Cow::Borrowed(&self.text[value_start..end]),
                        quoted: false,
                    });
                }
            }
        }
    }
}

fn skip_token(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    let mut quote = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' => quote = Some(b),
            None if b.is_ascii_whitespace() => break,
            None => {}
        }
        i += 1;
    }
    i
}

/// `\"` → `"`, `\\` → `\`; other escapes are kept as written.
fn unescape(raw: &str) -> Cow<'_, str> {
    Cow::Owned(unescape_with(raw, |c| matches!(c, '"' | '\\').then_some(c)))
}

/// True when the whole text is `key=value` pairs (at least two, nothing else, quotes balanced): only then is a
/// body of an unknown program split into fields.
pub(crate) fn is_kv_body(text: &str) -> bool {
    let mut iter = pairs(text);
    let mut count = 0;
    for _ in iter.by_ref() {
        count += 1;
    }
    count >= 2 && iter.stray == 0 && !iter.unterminated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_bare_values() {
        let got: Vec<(String, String)> = pairs(r#"a=1 b="x y" c="q\"uote" d= e='s q'"#)
            .map(|p| (p.key.to_owned(), p.value.into_owned()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "q\"uote".into()),
                ("d".into(), "".into()),
                ("e".into(), "s q".into()),
            ]
        );
    }

    #[test]
    fn stray_tokens_and_unterminated_quotes_are_noticed() {
        let mut p = pairs("hello a=1 \"b c\" d=\"open");
        let n = p.by_ref().count();
        assert_eq!(n, 2);
        assert_eq!(p.stray, 2);
        assert!(p.unterminated);
        assert!(is_kv_body("a=1 b=2"));
        assert!(!is_kv_body("a=1 and more"));
        assert!(!is_kv_body("a=1"));
    }
}
