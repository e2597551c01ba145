//! The hot search index (`docs/formats/index.md`): every sealed event of a tenant, in per-day tantivy partitions
//! under the index directory, searchable with the analyst query language (`kuzet-query`). The index holds terms
//! and two fast fields per event — when it happened and where it is sealed — never the event: hits are read from
//! the sealed archive and checked against the query, so the index can be dropped and rebuilt from the archive at
//! any time, and a result is always a sealed event.
//!
//! Depends on kuzet-model and kuzet-query among Kuzet crates; the caller feeds it events with their positions
//! (the store's consumer `index`) and reads hits for it (`kuzet_store::read_at`).

mod error;
mod partition;
mod schema;
mod search;
mod translate;
mod values;

use std::path::Path;

use kuzet_model::TenantId;

pub use error::IndexError;
pub use partition::{Added, IndexConfig, Indexer, PartitionKey};
pub use schema::{MAX_TERM, MAX_WORD, SCHEMA_VERSION};
pub use search::{
    Buckets, EXACT_TOTAL_LIMIT, Fetch, Histogram, IndexSearcher, Key, MAX_BUCKETS, Order, Page,
    Request, auto_interval,
};
pub use values::{FieldValues, MAX_VALUES, check_field as check_values_field, most_frequent};

/// The partitions the index holds for `tenant`, oldest first.
pub fn partitions(dir: &Path, tenant: &TenantId) -> Result<Vec<PartitionKey>, IndexError> {
    let path = dir.join(tenant.as_str());
    let entries = match std::fs::read_dir(&path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(IndexError::io(&path)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(IndexError::io(&path))?;
        if let Some(day) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<jiff::civil::Date>().ok())
        {
            out.push(PartitionKey {
                tenant: tenant.clone(),
                day,
            });
        }
    }
    out.sort();
    Ok(out)
}

/// The directory of the temporary index `kuzet rehydrate` builds under the name `name`:
/// `<data_dir>/rehydrated/<name>/`, laid out like the hot index. Refuses names that are not plain slugs.
pub fn rehydrated_dir(data_dir: &Path, name: &str) -> Result<std::path::PathBuf, String> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'));
    if !valid {
        return Err(format!(
            "rehydrated index name `{name}`: use lowercase letters, digits, '-' and '_'"
        ));
    }
    Ok(data_dir.join("rehydrated").join(name))
}

/// How the index asks for `query` (tantivy's description of the translated query) and whether that finds exactly
/// the matches (`false`: a superset the search narrows by evaluating the query). For `kuzet search --explain` and
/// the golden tests of the translation.
pub fn explain(query: &kuzet_query::Query) -> Result<(String, bool), IndexError> {
    let fields = schema::Fields::new();
    let index = tantivy::Index::create_in_ram(fields.schema.clone());
    let reader = index
        .reader()
        .map_err(IndexError::tantivy(Path::new("(in memory)")))?;
    let searcher = reader.searcher();
    let translated = translate::Translator {
        fields: &fields,
        searcher: &searcher,
    }
    .translate(query);
    Ok((
        without_automata(&format!("{:?}", translated.query)),
        translated.exact,
    ))
}

/// tantivy describes a regex query with its compiled automaton, a line per state: keep the pattern only.
fn without_automata(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Regex(") {
        let Some(line_end) = rest[at..].find('\n').map(|n| at + n) else {
            break;
        };
        let Some(resume) = rest[line_end..].find(", field: ").map(|n| line_end + n) else {
            break;
        };
        out.push_str(&rest[..line_end]);
        rest = &rest[resume..];
    }
    out.push_str(rest);
    out
}

/// What one field costs in the index: distinct terms, postings (documents × terms), and the bytes of its
/// postings and positions lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldCost {
    pub terms: u64,
    pub postings: u64,
    pub postings_bytes: u64,
    pub positions_bytes: u64,
    /// Bytes of the terms themselves (before the dictionary's compression).
    pub term_bytes: u64,
}

/// The cost of each (schema field, event field) pair over every partition under `dir` (e.g. `("kw",
/// "user.name")`): for sizing the index and deciding what to index (`kuzet bench search` prints it).
pub fn field_costs(
    dir: &Path,
) -> Result<std::collections::BTreeMap<(String, String), FieldCost>, IndexError> {
    let fields = schema::Fields::new();
    let mut out: std::collections::BTreeMap<(String, String), FieldCost> = Default::default();
    let tenants = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(IndexError::io(dir)(e)),
    };
    for tenant in tenants {
        let tenant = tenant.map_err(IndexError::io(dir))?.path();
        let Some(id) = tenant
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| TenantId::new(n).ok())
        else {
            continue;
        };
        for key in partitions(dir, &id)? {
            let path = tenant.join(key.day.to_string());
            let tantivy_err = IndexError::tantivy(&path);
            let index = tantivy::Index::open_in_dir(&path).map_err(tantivy_err)?;
            let reader = index.reader().map_err(IndexError::tantivy(&path))?;
            let searcher = reader.searcher();
            for (kind, field) in [
                ("kw", fields.kw),
                ("tx", fields.tx),
                ("nv", fields.nv),
                ("ip", fields.ip),
                ("fn", fields.names),
            ] {
                for segment in searcher.segment_readers() {
                    let inverted = segment
                        .inverted_index(field)
                        .map_err(IndexError::tantivy(&path))?;
                    let mut stream = inverted
                        .terms()
                        .stream()
                        .map_err(|e| IndexError::tantivy(&path)(e.into()))?;
                    while stream.advance() {
                        let term = stream.key();
                        let name = match term.iter().position(|&b| b == schema::SEP as u8) {
                            Some(at) => String::from_utf8_lossy(&term[..at]).into_owned(),
                            None => kind.to_owned(),
                        };
                        let info = stream.value();
                        let cost = out.entry((kind.to_owned(), name)).or_default();
                        cost.terms += 1;
                        cost.postings += u64::from(info.doc_freq);
                        cost.postings_bytes += info.postings_range.len() as u64;
                        cost.positions_bytes += info.positions_range.len() as u64;
                        cost.term_bytes += term.len() as u64;
                    }
                }
            }
        }
    }
    Ok(out)
}
