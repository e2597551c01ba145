//! The cursor of deep paging is text a client hands back: any text is refused with a message naming it, never a
//! panic, and every key the index writes reads back as itself.

use kuzet_index::Key;
use kuzet_model::TenantId;
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_text_is_a_key_or_an_error_naming_it(text in ".{0,80}") {
        match Key::parse(&text) {
            Ok(key) => prop_assert_eq!(Key::parse(&key.to_string()), Ok(key)),
            Err(message) => prop_assert!(message.starts_with("cursor `"), "{}", message),
        }
    }

    #[test]
    fn written_keys_read_back(
        micros in -62_000_000_000_000_000i64..250_000_000_000_000_000i64,
        tenant in "[a-z0-9][a-z0-9_-]{0,20}",
        position in any::<u64>(),
    ) {
        let key = Key { micros, tenant: TenantId::new(tenant).map_err(|e| TestCaseError::fail(e.to_string()))?, position };
        prop_assert_eq!(Key::parse(&key.to_string()), Ok(key));
    }
}
