//! Setup shared by the listener benchmarks.

use kuzet_model::{Directory, FormatHint, Source, SourceId, SourceIdentity, Tenant, TenantId};

/// One tenant `alpha` with one source `bench` that senders are attributed to by `identity`.
pub fn one_source(identity: SourceIdentity) -> Directory {
    Directory::new(
        vec![Tenant {
            id: TenantId::new("alpha").unwrap(),
            name: "alpha".into(),
            sector: None,
        }],
        vec![],
        vec![Source {
            id: SourceId::new("bench").unwrap(),
            tenant: TenantId::new("alpha").unwrap(),
            facility: None,
            name: "bench".into(),
            identities: vec![identity],
            format: FormatHint::Auto,
            expected_interval_secs: None,
        }],
    )
    .unwrap()
}
