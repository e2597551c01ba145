//! The values of one field over a query's matches — the most frequent ones and how many different ones — read
//! from the index's terms, not from the events: each partition's matching documents are marked once, then the
//! field's terms (`kw`, and the canonical integers of `nv`) are walked and each term's documents counted among
//! them. Values are as the index holds them: keywords lowercased (`docs/formats/index.md`).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use tantivy::BitSet;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::Query as TQuery;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader, TERMINATED};

use crate::schema::{Fields, SEP, canonical_text, field_prefix};

/// Values counted exactly per request; past it, new values are no longer counted (the top stays the top of those
/// counted, `exact` turns false) and the distinct count becomes an estimate.
pub const MAX_VALUES: usize = 1_000_000;

/// Whether the values of `field` can be counted: a text field's or a typed field's whole values are not terms.
pub fn check_field(field: &str) -> Result<(), String> {
    let typed = crate::schema::HOT_FIELDS.contains(&field)
        && !matches!(field, "organization.id" | "kuzet.source");
    if kuzet_query::TEXT_FIELDS.contains(&field) || typed || field.is_empty() {
        return Err(format!(
            "values of `{field}`: a text or typed field's whole values are not kept as terms; ask a keyword \
             field (e.g. `user.name`, `source.ip`, `event.code`)"
        ));
    }
    Ok(())
}

/// The `size` most frequent of `counts`, most frequent first, ties by value: the one order every count of values
/// answers in (the index's and the archive scan's).
pub fn most_frequent(
    counts: impl IntoIterator<Item = (String, u64)>,
    size: usize,
) -> Vec<(String, u64)> {
    let mut top: Vec<(String, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(size);
    top
}

/// What [`crate::IndexSearcher::values`] answers.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValues {
    pub field: String,
    /// The most frequent values among the matches, most frequent first (ties by value), with how many matches
    /// hold each.
    pub top: Vec<(String, u64)>,
    /// How many different values the matches hold.
    pub distinct: u64,
    /// Whether `distinct` is exact (else a HyperLogLog estimate, about 1 % off).
    pub distinct_exact: bool,
    /// Whether the counts are of exactly the matches (false: of a superset the query translated to, or past
    /// [`MAX_VALUES`]).
    pub exact: bool,
}

/// Counts of values over several partitions.
pub(crate) struct Tally {
    counts: HashMap<String, u64>,
    overflow: bool,
    sketch: Sketch,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            counts: HashMap::new(),
            overflow: false,
            sketch: Sketch::new(),
        }
    }

    fn add(&mut self, value: &str, n: u64) {
        self.sketch.add(value);
        if let Some(count) = self.counts.get_mut(value) {
            *count += n;
        } else if self.counts.len() < MAX_VALUES {
            self.counts.insert(value.to_owned(), n);
        } else {
            self.overflow = true;
        }
    }

    /// Counts, in the matching documents `matches` of one partition, the values of `field`.
    pub fn partition(
        &mut self,
        fields: &Fields,
        searcher: &Searcher,
        query: &dyn TQuery,
        field: &str,
    ) -> tantivy::Result<()> {
        let marked = searcher.search(query, &Marked)?;
        let prefix = field_prefix(field);
        let mut end = prefix.clone();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        for (ordinal, bits) in marked {
            let segment = searcher.segment_reader(ordinal);
            for (index_field, numbers) in [(fields.kw, false), (fields.nv, true)] {
                self.terms(segment, index_field, &prefix, &end, numbers, &bits)?;
            }
        }
        Ok(())
    }

    fn terms(
        &mut self,
        segment: &SegmentReader,
        index_field: Field,
        prefix: &[u8],
        end: &[u8],
        numbers: bool,
        bits: &BitSet,
    ) -> tantivy::Result<()> {
        let inverted = segment.inverted_index(index_field)?;
        let mut stream = inverted.terms().range().ge(prefix).lt(end).into_stream()?;
        while stream.advance() {
            let rest = &stream.key()[prefix.len()..];
            let value = if numbers {
                // Only canonical integers lack a keyword term; other numbers are counted through theirs.
                match <[u8; 8]>::try_from(rest).ok().and_then(canonical_text) {
                    Some(text) => text,
                    None => continue,
                }
            } else {
                String::from_utf8_lossy(rest).into_owned()
            };
            let mut postings =
                inverted.read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
            let mut n = 0u64;
            let mut doc = postings.doc();
            while doc != TERMINATED {
                n += u64::from(bits.contains(doc));
                doc = postings.advance();
            }
            if n > 0 {
                self.add(&value, n);
            }
        }
        Ok(())
    }

    pub fn finish(self, field: &str, size: usize, exact: bool) -> FieldValues {
        let distinct_exact = !self.overflow;
        let distinct = if distinct_exact {
            self.counts.len() as u64
        } else {
            self.sketch.estimate()
        };
        FieldValues {
            field: field.to_owned(),
            top: most_frequent(self.counts, size),
            distinct,
            distinct_exact,
            exact: exact && distinct_exact,
        }
    }
}

/// Marks the matching documents of each segment.
struct Marked;

struct MarkedSegment {
    ordinal: SegmentOrdinal,
    bits: BitSet,
}

impl Collector for Marked {
    type Fruit = Vec<(SegmentOrdinal, BitSet)>;
    type Child = MarkedSegment;

    fn for_segment(
        &self,
        ordinal: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<MarkedSegment> {
        Ok(MarkedSegment {
            ordinal,
            bits: BitSet::with_max_value(reader.max_doc()),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(SegmentOrdinal, BitSet)>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits)
    }
}

impl SegmentCollector for MarkedSegment {
    type Fruit = (SegmentOrdinal, BitSet);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.bits.insert(doc);
    }

    fn harvest(self) -> Self::Fruit {
        (self.ordinal, self.bits)
    }
}

/// A HyperLogLog sketch (2^14 registers, about 0.8 % standard error) of the values seen.
struct Sketch {
    registers: Vec<u8>,
}

const SKETCH_BITS: u32 = 14;

impl Sketch {
    fn new() -> Self {
        Self {
            registers: vec![0; 1 << SKETCH_BITS],
        }
    }

    fn add(&mut self, value: &str) {
        // SipHash with fixed keys: the same value always lands in the same register.
        let mut hasher = std::hash::DefaultHasher::new();
        value.hash(&mut hasher);
        let hash = hasher.finish();
        let index = (hash >> (64 - SKETCH_BITS)) as usize;
        let rank = ((hash << SKETCH_BITS) | (1 << (SKETCH_BITS - 1))).leading_zeros() as u8 + 1;
        self.registers[index] = self.registers[index].max(rank);
    }

    fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let sum: f64 = self
            .registers
            .iter()
            .map(|r| 2f64.powi(-i32::from(*r)))
            .sum();
        let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

/// The separator is part of every term: a field's terms are exactly those after `<field>␟`.
const _: () = assert!(SEP as u32 == 0x1f);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sketch_estimates_within_a_few_percent() {
        for n in [10u64, 1_000, 100_000, 2_000_000] {
            let mut sketch = Sketch::new();
            for i in 0..n {
                sketch.add(&format!("value-{i}"));
            }
            let estimate = sketch.estimate() as f64;
            let error = (estimate - n as f64).abs() / n as f64;
            assert!(error < 0.03, "{n}: {estimate}");
        }
    }
}
