//! Properties: parsing never panics and always keeps the original bytes, whatever the input and format hint; valid
//! RFC 5424 headers round-trip through the parser.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport, Value};
use kuzet_parse::{ParseOptions, parse};
use proptest::prelude::*;

const FORMATS: [FormatHint; 7] = [
    FormatHint::Auto,
    FormatHint::Syslog,
    FormatHint::Json,
    FormatHint::Cef,
    FormatHint::Leef,
    FormatHint::Evtx,
    FormatHint::Text,
];

fn raw(format: FormatHint, bytes: Vec<u8>) -> RawEvent {
    RawEvent {
        id: EventId::from_parts(1_795_316_400_000, 1),
        tenant: TenantId::new("t1").unwrap(),
        source: SourceId::new("s1").unwrap(),
        received: "2026-11-22T03:00:00Z".parse().unwrap(),
        transport: Transport::Tcp,
        peer: None,
        format,
        bytes,
    }
}

/// Inputs that look like the formats, so that the fuzzing reaches past the first byte of each parser.
fn structured_input() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop::sample::select(vec![
        "<13>1 2026-11-22T03:00:00Z h a p m [x@1 k=\"v\\\"\"] ",
        "<34>Nov 22 07:59:58 host sshd[1]: ",
        "Nov 22 07:59:58 host sudo: alice : ",
        "CEF:0|V|P|1|2|N|5|",
        "LEEF:2.0|V|P|1|E|^|",
        "LEEF:1.0|V|P|1|E|",
        "{\"@timestamp\":",
        "type=SYSCALL msg=audit(1795316398.1:2): ",
        "%ASA-6-302013: Built outbound TCP connection 1 for ",
        "date=2026-11-22 time=07:59:58 devname=x ",
        "",
    ]);
    (prefix, prop::collection::vec(any::<u8>(), 0..200)).prop_map(|(prefix, tail)| {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend(tail);
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_and_keep_the_original(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for format in FORMATS {
            let event = parse(&raw(format, bytes.clone()), &ParseOptions::default());
            prop_assert_eq!(&event.original, &bytes);
        }
    }

    #[test]
    fn format_like_inputs_never_panic_and_keep_the_original(bytes in structured_input(), text in ".{0,120}") {
        let mut with_text = bytes.clone();
        with_text.extend(text.as_bytes());
        for input in [bytes, with_text] {
            for format in FORMATS {
                let event = parse(&raw(format, input.clone()), &ParseOptions::default());
                prop_assert_eq!(&event.original, &input);
                // The ECS rendering must not panic either.
                let _ = event.to_ecs_json();
            }
        }
    }

    #[test]
    fn rfc5424_header_fields_round_trip(
        priority in 0u8..=191,
        second in 0i64..86_400 * 365,
        millis in 0u32..1000,
        hostname in "[a-z][a-z0-9.-]{0,30}",
        app in "[a-zA-Z][a-zA-Z0-9_-]{0,20}",
        procid in 1u32..4_000_000,
        msgid in "[A-Z][A-Z0-9]{0,8}",
        sd_value in "[ -~]{0,20}",
        message in "[^\r\n]{0,60}",
    ) {
        let instant = jiff::Timestamp::from_second(1_767_225_600 + second).unwrap()
            + jiff::SignedDuration::from_millis(i64::from(millis));
        let escaped = sd_value.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]");
        let line = format!(
            "<{priority}>1 {} {hostname} {app} {procid} {msgid} [meta@1 v=\"{escaped}\"] {message}",
            instant.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        );
        let event = parse(&raw(FormatHint::Syslog, line.clone().into_bytes()), &ParseOptions::default());
        let f = &event.fields;
        prop_assert_eq!(event.timestamp, instant, "{}", line);
        prop_assert_eq!(f.get("log.syslog.priority"), Some(&Value::Int(i64::from(priority))));
        prop_assert_eq!(f.get("log.syslog.facility.code"), Some(&Value::Int(i64::from(priority / 8))));
        prop_assert_eq!(f.get("log.syslog.severity.code"), Some(&Value::Int(i64::from(priority % 8))));
        prop_assert_eq!(f.get_str("log.syslog.hostname"), Some(hostname.as_str()));
        prop_assert_eq!(f.get_str("log.syslog.appname"), Some(app.as_str()));
        prop_assert_eq!(f.get("process.pid"), Some(&Value::Int(i64::from(procid))));
        prop_assert_eq!(f.get_str("log.syslog.msgid"), Some(msgid.as_str()));
        prop_assert_eq!(f.get_str("log.syslog.structured_data.meta@1.v"), Some(sd_value.as_str()));
        prop_assert!(!event.has_issue(kuzet_model::IssueCode::BadSyslog), "{:?}", event.issues);
        prop_assert!(!event.has_issue(kuzet_model::IssueCode::BadStructuredData), "{:?}", event.issues);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// An RFC 3164 timestamp written in Kazakhstan time for any instant from 330 days before to 30 days after the
    /// receive time reads back as that instant: the year inference never picks the wrong year in that window.
    #[test]
    fn rfc3164_timestamps_round_trip_through_year_inference(offset_secs in -330i64 * 86_400..30 * 86_400) {
        let received: jiff::Timestamp = "2026-01-10T03:00:00Z".parse().unwrap();
        let instant = received + jiff::SignedDuration::from_secs(offset_secs);
        let local = kuzet_model::time::kz_local(instant);
        let line = format!("<13>{} host app: x", local.strftime("%b %e %H:%M:%S"));
        let mut raw = raw(FormatHint::Syslog, line.clone().into_bytes());
        raw.received = received;
        let event = parse(&raw, &ParseOptions::default());
        prop_assert_eq!(event.timestamp, instant, "{}", line);
        prop_assert!(event.has_issue(kuzet_model::IssueCode::InferredTimestamp));
    }

    /// CEF extension values survive escaping: `\\`, `\=` and `\n` in, the original text out, spaces included.
    #[test]
    fn cef_extension_values_round_trip(
        pairs in prop::collection::btree_map("x[a-z]{1,8}", "[a-zA-Z0-9=\\\\ \n|./:-]{0,24}", 1..6)
    ) {
        let mut line = String::from("CEF:0|V|P|1|sig|Name|5|");
        for (key, value) in &pairs {
            let escaped = value.replace('\\', "\\\\").replace('=', "\\=").replace('\n', "\\n");
            line.push_str(&format!("{key}={escaped} "));
        }
        let event = parse(&raw(FormatHint::Cef, line.clone().into_bytes()), &ParseOptions::default());
        for (key, value) in &pairs {
            let expected = value.trim_end_matches(' ');
            let got = event.fields.get_str(&format!("cef.extensions.{key}"));
            if expected.is_empty() {
                prop_assert!(got.is_none() || got == Some(""), "{}", line);
            } else {
                prop_assert_eq!(got, Some(expected), "{}", line);
            }
        }
    }
}

#[test]
fn default_options_are_kazakhstan_time_and_five_minutes() {
    let options = ParseOptions::default();
    assert_eq!(options.default_offset, None);
    assert_eq!(options.max_skew, jiff::SignedDuration::from_mins(5));
}

#[test]
fn default_offset_option_changes_inferred_times() {
    let line = b"<13>Nov 22 08:00:00 host app: x".to_vec();
    let kz = parse(
        &raw(FormatHint::Syslog, line.clone()),
        &ParseOptions::default(),
    );
    assert_eq!(kz.timestamp.to_string(), "2026-11-22T03:00:00Z");
    let utc = ParseOptions {
        default_offset: Some(jiff::tz::Offset::UTC),
        ..ParseOptions::default()
    };
    let event = parse(&raw(FormatHint::Syslog, line), &utc);
    assert_eq!(event.timestamp.to_string(), "2026-11-22T08:00:00Z");
    assert!(event.has_issue(kuzet_model::IssueCode::ClockSkew));
}

#[test]
fn max_skew_option_is_honoured() {
    let line = b"<13>1 2026-11-22T02:50:00Z host app - - - ten minutes old".to_vec();
    let strict = parse(
        &raw(FormatHint::Syslog, line.clone()),
        &ParseOptions::default(),
    );
    assert!(strict.has_issue(kuzet_model::IssueCode::ClockSkew));
    let lenient = ParseOptions {
        max_skew: jiff::SignedDuration::from_mins(15),
        ..ParseOptions::default()
    };
    assert!(
        !parse(&raw(FormatHint::Syslog, line), &lenient)
            .has_issue(kuzet_model::IssueCode::ClockSkew)
    );
}
