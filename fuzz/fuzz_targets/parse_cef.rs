//! Feeds arbitrary bytes to `kuzet_parse::parse` with `FormatHint::Cef`: it must never panic, must keep the
//! input as `event.original` byte for byte, and the event must render as an ECS document.
#![no_main]

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_parse::{ParseOptions, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (Ok(tenant), Ok(source)) = (TenantId::new("fuzz"), SourceId::new("fuzz")) else {
        return;
    };
    let raw = RawEvent {
        id: EventId::from_parts(1_795_316_400_000, 0),
        tenant,
        source,
        received: "2026-11-22T03:00:00Z".parse().unwrap_or_default(),
        transport: Transport::Udp,
        peer: None,
        format: FormatHint::Cef,
        bytes: data.to_vec(),
    };
    let event = parse(&raw, &ParseOptions::default());
    assert_eq!(event.original, data);
    let _ = event.to_ecs_json();
});
