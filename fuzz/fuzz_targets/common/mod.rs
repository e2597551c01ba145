//! The body every `parse_<format>` target shares: only the format hint differs, so the properties checked stay
//! the same for every parser.

use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};
use kuzet_parse::{ParseOptions, parse};

/// Feeds `data` to `kuzet_parse::parse` with `format`: it must not panic, must keep the input as `event.original`
/// byte for byte, and the event must render as an ECS document.
pub fn parse_keeps_original(format: FormatHint, data: &[u8]) {
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
        format,
        bytes: data.to_vec(),
    };
    let event = parse(&raw, &ParseOptions::default());
    assert_eq!(event.original, data);
    let _ = event.to_ecs_json();
}
