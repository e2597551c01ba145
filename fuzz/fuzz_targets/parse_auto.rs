//! Feeds arbitrary bytes to `kuzet_parse::parse` with `FormatHint::Auto`: it must never panic, must keep the
//! input as `event.original` byte for byte, and the event must render as an ECS document.
#![no_main]

mod common;

use kuzet_model::FormatHint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::parse_keeps_original(FormatHint::Auto, data));
