//! The index answers exactly what the reference semantics (`Query::matches`) answers: every query of a broad set,
//! in both orders, paged, over generated events of three tenants and several days, against a brute-force scan.

// Helpers outside #[test] functions unwrap too: a failure is a broken test setup.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use kuzet_index::{IndexConfig, IndexSearcher, Indexer, Key, Order, Request};
use kuzet_model::{Event, EventId, SourceId, TenantId, Value};

/// A small deterministic generator (xorshift), so failures replay.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

const USERS: &[&str] = &[
    "alice",
    "Alice",
    "bob",
    "root",
    "svc-backup",
    "svc-web",
    "admin",
    "Админ",
    "local service",
];
const IPS: &[&str] = &[
    "10.0.0.1",
    "10.0.0.200",
    "10.1.2.3",
    "192.168.1.5",
    "203.0.113.7",
    "2001:db8::1",
    "2001:DB8::ff",
    "fe80::1",
    "not-an-ip",
];
const WORDS: &[&str] = &[
    "failed",
    "password",
    "for",
    "root",
    "from",
    "accepted",
    "session",
    "opened",
    "Пароль",
    "неверный",
    "connection",
    "closed",
    "dc-01",
];
const HOSTS: &[&str] = &["dc-01", "DC-01", "web-1", "db.example.kz", "host 7"];

fn events(tenants: &[TenantId], count: usize) -> Vec<(u64, Event)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start: Timestamp = "2026-12-01T20:00:00Z".parse().unwrap();
    let mut positions: BTreeMap<TenantId, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for i in 0..count {
        let tenant = rng.pick(tenants).clone();
        // Over about three days, some events in the same microsecond, one with nanoseconds.
        let offset = SignedDuration::from_secs((rng.next() % (3 * 86_400)) as i64)
            + SignedDuration::from_nanos((rng.next() % 3) as i64 * 500);
        let timestamp = start + offset;
        let n = 3 + rng.next() % 6;
        let message: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
        let message = message.join(" ");
        let user = *rng.pick(USERS);
        let ip = *rng.pick(IPS);
        let host = *rng.pick(HOSTS);
        let original = if i % 5 == 0 {
            // A message that is not a run of the original's words.
            format!("<13>{host} app: {}", message.replace(' ', "_"))
        } else {
            format!("<13>{host} app[{i}]: {message}")
        };
        let mut event = Event::new(
            EventId::from_parts(1_700_000_000_000 + i as u64, i as u128),
            tenant.clone(),
            SourceId::new("src-1").unwrap(),
            timestamp,
            original.into_bytes(),
        );
        event.timestamp = timestamp;
        event.fields.insert("message", Value::Str(message));
        event.fields.insert("user.name", Value::Str(user.into()));
        event.fields.insert("host.name", Value::Str(host.into()));
        if ip != "not-an-ip" || i % 2 == 0 {
            event.fields.insert("source.ip", Value::Str(ip.into()));
        }
        match i % 4 {
            0 => event
                .fields
                .insert("destination.port", Value::Int((rng.next() % 2000) as i64)),
            1 => event.fields.insert(
                "destination.port",
                Value::Str(format!("{}", rng.next() % 2000)),
            ),
            2 => event.fields.insert("destination.port", Value::Float(443.0)),
            // Other spellings of numbers: not canonical integers, so kept as keywords too.
            _ => match i % 20 {
                3 => event
                    .fields
                    .insert("destination.port", Value::Str("0443".into())),
                7 => event
                    .fields
                    .insert("destination.port", Value::Str("443.0".into())),
                11 => event
                    .fields
                    .insert("destination.port", Value::Str("-7".into())),
                15 => event
                    .fields
                    .insert("destination.port", Value::Str("12.5".into())),
                _ => {}
            },
        }
        event.fields.insert(
            "event.code",
            Value::Int(*rng.pick(&[4624i64, 4625, 4720, 1102])),
        );
        event.fields.insert(
            "tags",
            Value::Array(vec![
                Value::Str(rng.pick(&["auth", "net", "Windows"]).to_string()),
                Value::Str("kz".into()),
            ]),
        );
        if i % 3 == 0 {
            event.fields.insert(
                "process.command_line",
                Value::Str(format!(
                    "C:\\Windows\\System32\\cmd.exe /c whoami {}",
                    rng.pick(WORDS)
                )),
            );
        }
        if i % 7 == 0 {
            event.fields.insert(
                "event.created",
                Value::Str((timestamp - SignedDuration::from_secs(5)).to_string()),
            );
        }
        if i % 97 == 0 {
            event.fields.insert(
                "winlog.event_data.Blob",
                Value::Str("x".repeat(kuzet_index::MAX_TERM + 10)),
            );
        }
        if i % 11 == 0 {
            event.fields.insert("labels.empty", Value::Array(vec![]));
        }
        if i % 17 == 0 {
            // Present, but empty: a keyword value with nothing after the field's name.
            event
                .fields
                .insert("labels.blank", Value::Str(String::new()));
            event
                .fields
                .insert("message.empty_words", Value::Str("--".into()));
        }
        if i % 13 == 0 {
            // A text array: a phrase matches within one element, never across two.
            event.fields.insert(
                "error.message",
                Value::Array(vec![
                    Value::Str("disk alpha beta".into()),
                    Value::Str("gamma delta".into()),
                ]),
            );
        }
        let position = positions.entry(tenant).or_insert(0);
        out.push((*position, event));
        *position += 1;
    }
    out
}

/// A committed index of `events` in a temporary directory.
fn indexed(events: &[(u64, Event)]) -> (tempfile::TempDir, Indexer) {
    let dir = tempfile::tempdir().unwrap();
    let mut indexer = Indexer::open(IndexConfig::new(dir.path())).unwrap();
    let now = Instant::now();
    for (position, event) in events {
        indexer.add(*position, event, now).unwrap();
    }
    indexer.commit(now).unwrap();
    (dir, indexer)
}

/// The events by (tenant, position): what the sealed archive answers in the product.
struct Archive(BTreeMap<(TenantId, u64), Event>);

impl Archive {
    fn of(events: &[(u64, Event)]) -> Self {
        Self(
            events
                .iter()
                .map(|(p, e)| ((e.tenant.clone(), *p), e.clone()))
                .collect(),
        )
    }

    fn fetch(&self, tenant: &TenantId, positions: &[u64]) -> Result<Vec<(u64, Event)>, String> {
        Ok(positions
            .iter()
            .filter_map(|p| self.0.get(&(tenant.clone(), *p)).map(|e| (*p, e.clone())))
            .collect())
    }
}

const QUERIES: &[&str] = &[
    "*",
    "user.name:alice",
    "user.name:ALICE",
    "user.name:админ",
    "user.name:svc-*",
    "user.name:*ic?",
    "user.name:\"local service\"",
    "NOT user.name:(svc-* OR root)",
    "user.name:(alice OR bob) AND NOT event.code:4625",
    "failed password",
    "\"failed password\"",
    "пароль",
    "pass*",
    "message:root",
    "message:\"password for\"",
    "message:fail*",
    "event.original:app",
    "dc-01",
    "host.name:dc-01",
    "host.name:\"host 7\"",
    "source.ip:10.0.0.0/8",
    "source.ip:10.0.0.0/24",
    "source.ip:2001:db8::/32",
    "source.ip:2001:db8::1",
    "source.ip:[10.0.0.1 TO 10.0.0.255]",
    "source.ip:{10.0.0.1 TO *]",
    "source.ip >= 2001:db8::",
    "source.ip:*",
    "NOT source.ip:*",
    "destination.port:443",
    "destination.port:[1 TO 1024]",
    "destination.port:{1024 TO *]",
    "destination.port < 100",
    "destination.port:[a TO z]",
    "destination.port:4*",
    "destination.port:0*",
    "destination.port:*3",
    "destination.port:?",
    "destination.port:-*",
    "destination.port:443.0",
    "destination.port:0443",
    "destination.port:12.5",
    "destination.port:[443 TO 443]",
    "destination.port:{443 TO 1000}",
    "destination.port > 443",
    "destination.port <= -7",
    "destination.port:[12 TO 13]",
    "NOT destination.port:4*",
    "_exists_:destination.port",
    "event.code:46*",
    "event.code:(4624 OR 4625)",
    "event.code >= 4700",
    "tags:windows",
    "tags:kz AND tags:net",
    "process.command_line:whoami",
    "process.command_line:\"cmd exe\"",
    "process.command_line:C\\:\\\\Windows\\\\*",
    "process.command_line:*system32*",
    "_exists_:process.command_line",
    "_exists_:labels.empty",
    "event.created:*",
    "event.created >= 2026-12-02",
    "event.created:[2026-12-02T00:00:00Z TO 2026-12-03T00:00:00Z}",
    "@timestamp >= 2026-12-02T12:00:00Z",
    "@timestamp:[2026-12-02 TO 2026-12-03}",
    "@timestamp < 2026-12-02T12:00:00.0000005Z",
    "@timestamp:nonsense",
    "winlog.event_data.Blob:x*",
    "winlog.event_data.Blob:*",
    "organization.id:beta",
    "kuzet.source:src-1 AND user.name:root",
    "(failed OR accepted) AND NOT (user.name:root OR source.ip:10.0.0.0/8)",
    "NOT message:root",
    "NOT failed",
    "event.id:*",
    "nothing-matches-this",
    "error.message:\"alpha beta\"",
    "error.message:\"beta gamma\"",
    "error.message:gam*",
    "_exists_:labels.blank",
    "NOT labels.blank:*",
    "labels:*",
    "_exists_:error.message",
];

#[test]
fn the_index_answers_what_a_scan_answers() {
    let tenants: Vec<TenantId> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|t| TenantId::new(*t).unwrap())
        .collect();
    let all = events(&tenants, 3000);
    let (_dir, indexer) = indexed(&all);
    let searcher = indexer.searcher();
    let archive = Archive::of(&all);
    let mut fetch = |tenant: &TenantId, positions: &[u64]| archive.fetch(tenant, positions);
    let ranges: [(Timestamp, Timestamp); 2] = [
        (
            "2026-12-01T00:00:00Z".parse().unwrap(),
            "2026-12-06T00:00:00Z".parse().unwrap(),
        ),
        (
            "2026-12-02T03:00:00.25Z".parse().unwrap(),
            "2026-12-03T01:00:00.0000015Z".parse().unwrap(),
        ),
    ];
    let asked: [&[TenantId]; 2] = [&tenants, &tenants[1..2]];
    for text in QUERIES {
        let query = kuzet_query::parse(text).unwrap();
        for (from, to) in ranges {
            for scope in asked {
                let mut expected: Vec<Key> = all
                    .iter()
                    .filter(|(_, e)| {
                        scope.contains(&e.tenant)
                            && e.timestamp >= from
                            && e.timestamp < to
                            && query.matches(e)
                    })
                    .map(|(p, e)| Key::of(e, *p))
                    .collect();
                for order in [Order::Newest, Order::Oldest] {
                    match order {
                        Order::Newest => expected.sort_by(|a, b| b.cmp(a)),
                        Order::Oldest => expected.sort(),
                    }
                    let mut got = Vec::new();
                    let mut after = None;
                    let mut total = None;
                    for _ in 0..2000 {
                        let request = Request {
                            query: &query,
                            tenants: scope,
                            from,
                            to,
                            size: 97,
                            order,
                            after: after.clone(),
                        };
                        let page = searcher.search(&request, &mut fetch).unwrap();
                        assert!(
                            page.events.iter().all(|(_, e)| scope.contains(&e.tenant)),
                            "{text}: another tenant's event"
                        );
                        if total.is_none() {
                            total = Some((page.total, page.total_exact));
                        }
                        got.extend(page.events.into_iter().map(|(k, _)| k));
                        match page.next {
                            Some(next) => after = Some(next),
                            None => break,
                        }
                    }
                    if got != expected {
                        let at = got
                            .iter()
                            .zip(&expected)
                            .position(|(a, b)| a != b)
                            .unwrap_or(got.len().min(expected.len()));
                        panic!(
                            "query `{text}` ({order:?}, {from}..{to}, {} tenants): {} found, {} expected; first difference at {at}: {:?} vs {:?}",
                            scope.len(),
                            got.len(),
                            expected.len(),
                            got.get(at),
                            expected.get(at)
                        );
                    }
                    let (total, exact) = total.unwrap();
                    if exact {
                        assert_eq!(total, expected.len() as u64, "total of `{text}`");
                    } else {
                        assert!(total >= expected.len() as u64, "bound of `{text}`");
                    }
                }
            }
        }
    }
}

#[test]
fn a_restarted_indexer_skips_what_it_committed_and_a_cursor_survives_the_text() {
    let tenants = vec![TenantId::new("alpha").unwrap()];
    let all = events(&tenants, 200);
    let dir = tempfile::tempdir().unwrap();
    let now = Instant::now();
    {
        let mut indexer = Indexer::open(IndexConfig::new(dir.path())).unwrap();
        for (p, e) in &all[..150] {
            indexer.add(*p, e, now).unwrap();
        }
        indexer.close().unwrap();
    }
    let mut indexer = Indexer::open(IndexConfig::new(dir.path())).unwrap();
    let mut again = 0;
    for (p, e) in &all {
        if indexer.add(*p, e, now).unwrap() == kuzet_index::Added::Present {
            again += 1;
        }
    }
    indexer.commit(now).unwrap();
    assert_eq!(again, 150);
    let searcher = IndexSearcher::open(dir.path());
    let query = kuzet_query::parse("*").unwrap();
    let mut fetch = |_: &TenantId, positions: &[u64]| -> Result<Vec<(u64, Event)>, String> {
        Ok(positions
            .iter()
            .map(|p| (*p, all[*p as usize].1.clone()))
            .collect())
    };
    let request = Request {
        query: &query,
        tenants: &tenants,
        from: "2026-11-01T00:00:00Z".parse().unwrap(),
        to: "2026-12-31T00:00:00Z".parse().unwrap(),
        size: 10,
        order: Order::Oldest,
        after: None,
    };
    let page = searcher.search(&request, &mut fetch).unwrap();
    assert_eq!(page.total, 200);
    let next = page.next.unwrap();
    assert_eq!(Key::parse(&next.to_string()).unwrap(), next);
}

#[test]
fn days_before_the_hot_window_are_dropped_and_the_rest_stay_searchable() {
    let tenants = vec![
        TenantId::new("alpha").unwrap(),
        TenantId::new("beta").unwrap(),
    ];
    let all = events(&tenants, 600);
    let (dir, mut indexer) = indexed(&all);
    let searcher = indexer.searcher();
    let first_kept: jiff::civil::Date = "2026-12-03".parse().unwrap();
    let dropped = indexer.drop_before(&tenants[0], first_kept).unwrap();
    assert_eq!(
        dropped.len(),
        2,
        "2026-12-01 and 2026-12-02 of alpha: {dropped:?}"
    );
    let days: Vec<String> = kuzet_index::partitions(dir.path(), &tenants[0])
        .unwrap()
        .iter()
        .map(|k| k.day.to_string())
        .collect();
    assert_eq!(days, ["2026-12-03", "2026-12-04"]);
    let query = kuzet_query::parse("*").unwrap();
    let archive = Archive::of(&all);
    let mut fetch = |tenant: &TenantId, positions: &[u64]| archive.fetch(tenant, positions);
    let from: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
    let request = Request {
        query: &query,
        tenants: &tenants,
        from,
        to,
        size: 10,
        order: Order::Oldest,
        after: None,
    };
    let page = searcher.search(&request, &mut fetch).unwrap();
    let kept = all
        .iter()
        .filter(|(_, e)| {
            e.tenant == tenants[1]
                || e.timestamp.to_zoned(jiff::tz::TimeZone::UTC).date() >= first_kept
        })
        .count();
    assert_eq!(page.total, kept as u64);
    // New events of a kept day still go in after the drop.
    let (p, e) = all
        .iter()
        .rev()
        .find(|(_, e)| e.tenant == tenants[0])
        .unwrap();
    let mut later = e.clone();
    later.id = EventId::from_parts(1_800_000_000_000, 1);
    let now = Instant::now();
    indexer.add(p + 10_000, &later, now).unwrap();
    indexer.commit(now).unwrap();
    assert_eq!(
        searcher.search(&request, &mut fetch).unwrap().total,
        kept as u64 + 1
    );
}

#[test]
fn histograms_count_what_a_scan_counts() {
    let tenants: Vec<TenantId> = ["alpha", "beta"]
        .iter()
        .map(|t| TenantId::new(*t).unwrap())
        .collect();
    let all = events(&tenants, 1500);
    let (_dir, indexer) = indexed(&all);
    let searcher = indexer.searcher();
    let from: Timestamp = "2026-12-01T21:30:00Z".parse().unwrap();
    let to: Timestamp = "2026-12-04T02:00:00Z".parse().unwrap();
    let interval = kuzet_index::auto_interval(from, to, 60);
    assert_eq!(
        interval,
        SignedDuration::from_hours(1),
        "52.5 hours in at most 60 buckets"
    );
    for text in [
        "*",
        "user.name:alice OR source.ip:10.0.0.0/8",
        "failed AND NOT event.code:4625",
        "tags:net",
    ] {
        let query = kuzet_query::parse(text).unwrap();
        let histogram = searcher
            .histogram(&query, &tenants[..1], from, to, interval)
            .unwrap();
        assert!(histogram.exact, "{text}");
        let step = interval.as_secs();
        let origin = from.as_second().div_euclid(step) * step;
        let mut expected = vec![0u64; histogram.buckets.len()];
        for (_, e) in all.iter().filter(|(_, e)| {
            e.tenant == tenants[0] && e.timestamp >= from && e.timestamp < to && query.matches(e)
        }) {
            expected[((e.timestamp.as_second() - origin) / step) as usize] += 1;
        }
        let got: Vec<u64> = histogram.buckets.iter().map(|(_, n)| *n).collect();
        assert_eq!(got, expected, "{text}");
        assert_eq!(histogram.buckets[0].0.as_second(), origin);
    }
}

/// Histograms of every event are read from the partitions' per-minute counts, with the minutes at the range's
/// ends counted event by event: the same counts as a scan, for ends on and between minutes, for intervals that are
/// whole minutes and ones that are not, before and after a partition is closed and written again.
#[test]
fn histograms_of_every_event_from_minute_counts_are_exact() {
    let tenants: Vec<TenantId> = ["alpha"]
        .iter()
        .map(|t| TenantId::new(*t).unwrap())
        .collect();
    let all = events(&tenants, 1200);
    let (dir, indexer) = indexed(&all[..900]);
    let check = |searcher: &kuzet_index::IndexSearcher, upto: usize| {
        let query = kuzet_query::parse("*").unwrap();
        let ranges = [
            ("2026-12-01T21:30:00Z", "2026-12-04T02:00:00Z"),
            ("2026-12-01T21:30:17.5Z", "2026-12-03T02:00:45.25Z"),
            ("2026-12-02T10:15:10Z", "2026-12-02T10:15:50Z"),
            ("2026-12-02T23:59:30Z", "2026-12-03T00:00:30Z"),
        ];
        for (from, to) in ranges {
            let (from, to): (Timestamp, Timestamp) = (from.parse().unwrap(), to.parse().unwrap());
            for interval in [60, 300, 3600, 90] {
                let interval = SignedDuration::from_secs(interval);
                let histogram = searcher
                    .histogram(&query, &tenants, from, to, interval)
                    .unwrap();
                let step = interval.as_micros() as i64;
                let origin = from.as_microsecond().div_euclid(step) * step;
                let mut expected = vec![0u64; histogram.buckets.len()];
                for (_, e) in all[..upto]
                    .iter()
                    .filter(|(_, e)| e.timestamp >= from && e.timestamp < to)
                {
                    let at = ((e.timestamp.as_microsecond() - origin) / step) as usize;
                    let last = expected.len() - 1;
                    expected[at.min(last)] += 1;
                }
                let got: Vec<u64> = histogram.buckets.iter().map(|(_, n)| *n).collect();
                assert_eq!(got, expected, "{from}..{to} by {interval:?}");
            }
        }
    };
    check(&indexer.searcher(), 900);
    // Closed (merged), opened again, more events: the counts continue from the saved ones.
    indexer.close().unwrap();
    let mut indexer = Indexer::open(IndexConfig::new(dir.path())).unwrap();
    let now = Instant::now();
    for (position, event) in &all[900..] {
        indexer.add(*position, event, now).unwrap();
    }
    indexer.commit(now).unwrap();
    check(&indexer.searcher(), 1200);
}

/// A field's top values and distinct count over a query's matches, from the index's terms, equal what counting
/// the matching events' values (lowercased, each value once per event) gives.
#[test]
fn field_values_count_what_a_scan_counts() {
    let tenants: Vec<TenantId> = ["alpha", "beta"]
        .iter()
        .map(|t| TenantId::new(*t).unwrap())
        .collect();
    let all = events(&tenants, 2000);
    let (_dir, indexer) = indexed(&all);
    let searcher = indexer.searcher();
    let from: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
    for (text, field) in [
        ("*", "user.name"),
        ("*", "destination.port"),
        ("failed", "source.ip"),
        ("NOT user.name:root", "tags"),
        ("event.code:4624", "host.name"),
        ("*", "event.code"),
        ("*", "organization.id"),
    ] {
        let query = kuzet_query::parse(text).unwrap();
        let values = searcher
            .values(&query, &tenants, from, to, field, 5)
            .unwrap();
        let mut expected: BTreeMap<String, u64> = BTreeMap::new();
        for (_, e) in all
            .iter()
            .filter(|(_, e)| e.timestamp >= from && e.timestamp < to && query.matches(e))
        {
            let distinct: std::collections::BTreeSet<String> = kuzet_query::field_values(e, field)
                .into_iter()
                .map(|v| v.to_lowercase())
                .collect();
            for v in distinct {
                *expected.entry(v).or_default() += 1;
            }
        }
        assert!(values.exact && values.distinct_exact, "{text} / {field}");
        assert_eq!(
            values.distinct,
            expected.len() as u64,
            "distinct {field} of `{text}`"
        );
        let mut top: Vec<(String, u64)> = expected.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(5);
        assert_eq!(values.top, top, "top {field} of `{text}`");
    }
    let refused = searcher.values(
        &kuzet_query::parse("*").unwrap(),
        &tenants,
        from,
        to,
        "message",
        5,
    );
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("values of `message`")
    );
}
