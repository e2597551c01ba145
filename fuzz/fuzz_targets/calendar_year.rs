//! Arbitrary text as a yearly business-calendar file: the reader names what is wrong or returns a year whose days
//! all lie in it; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(year) = kuzet_cases::CalendarYear::parse("fuzz.toml", text) {
        assert!(
            year.days_off
                .keys()
                .chain(year.working_days.keys())
                .all(|d| d.year() == year.year)
        );
    }
});
