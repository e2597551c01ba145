//! Arbitrary text as every kind of observable: refused with the kind named, or written in a form that parses to
//! itself; it never panics.
#![no_main]

use kuzet_cases::{Observable, ObservableKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in ObservableKind::ALL {
        match Observable::parse(kind, text) {
            Ok(o) => assert_eq!(Observable::parse(kind, &o.value).as_ref(), Ok(&o)),
            Err(e) => assert!(e.to_string().starts_with("observable ")),
        }
    }
});
