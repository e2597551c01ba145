//! Monthly incident metrics of a tenant: how long it took to detect, acknowledge, contain and close its incidents,
//! by criticality level and by category, rendered as CSV or HTML in Kazakh, Russian or English. Pure: the caller
//! gathers the rows (incidents detected in the month, Kazakhstan time).
//!
//! | measure | from | to |
//! |---|---|---|
//! | detect | the earliest `event` written on its timeline (when the attack began, as established) | detection |
//! | acknowledge | detection | its first decision: confirmed or false positive |
//! | contain | detection | contained |
//! | close | detection | closed |
//!
//! An incident counts in a measure only once both ends exist; each measure says how many it counts.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use kuzet_model::Criticality;

use crate::report::{
    GENERATED, ORGANIZATION, PERIOD, Words, category, escape_html, level, local,
    neutralize_formula, pick,
};
use crate::{CasesError, Category, Lang, Status};

/// One incident detected in the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsRow {
    pub category: Category,
    pub level: Criticality,
    pub detected: Timestamp,
    /// When the attack began, as established (the earliest `event` on the incident's timeline).
    pub began: Option<Timestamp>,
    /// Its status changes, in order.
    pub transitions: Vec<(Status, Timestamp)>,
}

/// The four measures, in report order.
pub const MEASURES: usize = 4;

/// One measure over a group of incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    /// Incidents with both ends of the measure.
    pub count: u32,
    pub median: Option<SignedDuration>,
    pub mean: Option<SignedDuration>,
}

/// A group's incidents and its four measures (detect, acknowledge, contain, close).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    pub incidents: u32,
    pub stats: [Stat; MEASURES],
}

/// The month's metrics of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsReport {
    pub tenant: String,
    pub tenant_name: String,
    pub year: i16,
    pub month: i8,
    pub generated: Timestamp,
    pub total: Group,
    /// Levels 0–5 that had incidents, ascending.
    pub by_level: Vec<(Criticality, Group)>,
    /// Categories that had incidents, in the taxonomy's order.
    pub by_category: Vec<(Category, Group)>,
}

/// The first and the following month's first instant of `year`-`month` in Kazakhstan time.
pub fn month_range(year: i16, month: i8) -> Result<(Timestamp, Timestamp), CasesError> {
    let bad = |e: jiff::Error| CasesError::Obligation("month", e.to_string());
    let first = Date::new(year, month, 1).map_err(bad)?;
    let next = first
        .checked_add(jiff::Span::new().months(1))
        .map_err(bad)?;
    let instant = |d: Date| {
        let local = d.to_datetime(Time::midnight());
        // The offset of the instant itself (UTC+6 before 1 March 2024, UTC+5 since): try both.
        [6, 5]
            .into_iter()
            .filter_map(|h| {
                jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(h))
                    .to_timestamp(local)
                    .ok()
            })
            .find(|t| kuzet_model::time::kz_local(*t) == local)
            .ok_or_else(|| {
                CasesError::Obligation("month", format!("{local} is not a Kazakhstan time"))
            })
    };
    Ok((instant(first)?, instant(next)?))
}

fn measures(row: &MetricsRow) -> [Option<SignedDuration>; MEASURES] {
    let since = |t: Option<Timestamp>| t.map(|t| t.duration_since(row.detected));
    let first_decision = row
        .transitions
        .iter()
        .find(|(s, _)| matches!(s, Status::Confirmed | Status::FalsePositive))
        .map(|(_, at)| *at);
    let reached = |status: Status| {
        row.transitions
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, at)| *at)
    };
    [
        row.began.map(|b| row.detected.duration_since(b)),
        since(first_decision),
        since(reached(Status::Contained)),
        since(reached(Status::Closed)),
    ]
}

fn group<'a>(rows: impl Iterator<Item = &'a MetricsRow>) -> Group {
    let mut values: [Vec<SignedDuration>; MEASURES] = Default::default();
    let mut incidents = 0u32;
    for row in rows {
        incidents += 1;
        for (i, m) in measures(row).into_iter().enumerate() {
            // A negative span (a time typed before another) is a data error, not a measure.
            if let Some(d) = m.filter(|d| !d.is_negative()) {
                values[i].push(d);
            }
        }
    }
    let stats = values.map(|mut v| {
        v.sort();
        let count = u32::try_from(v.len()).unwrap_or(u32::MAX);
        let median = match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2),
        };
        let mean = (!v.is_empty()).then(|| {
            let total: i128 = v.iter().map(|d| d.as_millis()).sum();
            let n = i128::try_from(v.len()).unwrap_or(i128::MAX);
            SignedDuration::from_millis(i64::try_from(total / n).unwrap_or(i64::MAX))
        });
        Stat {
            count,
            median,
            mean,
        }
    });
    Group { incidents, stats }
}

impl MetricsReport {
    pub fn build(
        tenant: String,
        tenant_name: String,
        (year, month): (i16, i8),
        generated: Timestamp,
        rows: &[MetricsRow],
    ) -> Self {
        let mut levels: Vec<Criticality> = rows.iter().map(|r| r.level).collect();
        levels.sort();
        levels.dedup();
        Self {
            tenant,
            tenant_name,
            year,
            month,
            generated,
            total: group(rows.iter()),
            by_level: levels
                .into_iter()
                .map(|l| (l, group(rows.iter().filter(|r| r.level == l))))
                .collect(),
            by_category: Category::ALL
                .iter()
                .filter(|c| rows.iter().any(|r| r.category == **c))
                .map(|c| (*c, group(rows.iter().filter(|r| r.category == *c))))
                .collect(),
        }
    }

    /// The groups as labelled rows: the total, each level, each category.
    fn lines(&self, lang: Lang) -> Vec<(String, &Group)> {
        let mut out = vec![(pick(lang, ALL).to_owned(), &self.total)];
        for (l, g) in &self.by_level {
            out.push((format!("{}: {}", pick(lang, LEVEL), level(lang, *l)), g));
        }
        for (c, g) in &self.by_category {
            out.push((
                format!("{}: {}", pick(lang, CATEGORY), category(lang, *c)),
                g,
            ));
        }
        out
    }

    fn header(lang: Lang) -> Vec<String> {
        let mut h = vec![
            pick(lang, GROUP).to_owned(),
            pick(lang, INCIDENTS).to_owned(),
        ];
        for m in MEASURE_NAMES {
            let m = pick(lang, m);
            h.push(format!("{m}: {}", pick(lang, COUNTED)));
            h.push(format!("{m}: {}", pick(lang, MEDIAN)));
            h.push(format!("{m}: {}", pick(lang, MEAN)));
        }
        h
    }

    fn cells(label: &str, g: &Group) -> Vec<String> {
        let mut c = vec![label.to_owned(), g.incidents.to_string()];
        for s in &g.stats {
            c.push(s.count.to_string());
            c.push(s.median.map(hours_minutes).unwrap_or_default());
            c.push(s.mean.map(hours_minutes).unwrap_or_default());
        }
        c
    }

    /// RFC 4180 CSV: a header, then the total, each level and each category; durations as `h:mm`.
    pub fn to_csv(&self, lang: Lang) -> String {
        let quote = |s: &str| format!("\"{}\"", neutralize_formula(s).replace('"', "\"\""));
        let mut out = String::new();
        let line = |cells: Vec<String>| {
            let mut l = cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",");
            l.push_str("\r\n");
            l
        };
        out.push_str(&line(Self::header(lang)));
        for (label, g) in self.lines(lang) {
            out.push_str(&line(Self::cells(&label, g)));
        }
        out
    }

    /// A printable HTML page.
    pub fn to_html(&self, lang: Lang) -> String {
        let esc = escape_html;
        let title = pick(lang, TITLE);
        let mut out = format!(
            "<!doctype html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{}</title>\n\
             <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #888;padding:4px}}</style>\n\
             </head>\n<body>\n<h1>{}</h1>\n<p>{}: {} ({})<br>{}: {}-{:02}<br>{}: {}</p>\n<p>{}</p>\n<table>\n<tr>",
            lang.code(),
            esc(title),
            esc(title),
            esc(pick(lang, ORGANIZATION)),
            esc(&self.tenant_name),
            esc(&self.tenant),
            esc(pick(lang, PERIOD)),
            self.year,
            self.month,
            esc(pick(lang, GENERATED)),
            esc(&local(self.generated)),
            esc(pick(lang, EXPLAINED)),
        );
        for h in Self::header(lang) {
            out.push_str(&format!("<th>{}</th>", esc(&h)));
        }
        out.push_str("</tr>\n");
        for (label, g) in self.lines(lang) {
            out.push_str("<tr>");
            for c in Self::cells(&label, g) {
                out.push_str(&format!("<td>{}</td>", esc(&c)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n</body>\n</html>\n");
        out
    }
}

/// `h:mm`, rounded to the minute.
fn hours_minutes(d: SignedDuration) -> String {
    let minutes = (d.as_secs() + 30) / 60;
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

const TITLE: Words = (
    "Monthly information security incident metrics",
    "Ежемесячные показатели по инцидентам информационной безопасности",
    "Ақпараттық қауіпсіздік инциденттері бойынша айлық көрсеткіштер",
);
const EXPLAINED: Words = (
    "Durations in hours:minutes. Detect: from the attack's start as established to detection; acknowledge, \
     contain, close: from detection.",
    "Длительность в часах:минутах. Обнаружение: от установленного начала атаки до обнаружения; реагирование, \
     локализация, закрытие: от обнаружения.",
    "Ұзақтығы сағат:минутпен. Анықтау: шабуылдың анықталған басталуынан анықталғанға дейін; ден қою, \
     оқшаулау, жабу: анықталған сәттен бастап.",
);
const ALL: Words = ("All incidents", "Все инциденты", "Барлық инциденттер");
const LEVEL: Words = ("Level", "Уровень", "Деңгей");
const CATEGORY: Words = ("Category", "Категория", "Санат");
const GROUP: Words = ("Group", "Группа", "Топ");
const INCIDENTS: Words = ("Incidents", "Инцидентов", "Инциденттер");
const COUNTED: Words = ("counted", "учтено", "есептелді");
const MEDIAN: Words = ("median", "медиана", "медиана");
const MEAN: Words = ("mean", "среднее", "орташа");
const MEASURE_NAMES: [Words; MEASURES] = [
    ("Time to detect", "Время обнаружения", "Анықтау уақыты"),
    (
        "Time to acknowledge",
        "Время реагирования",
        "Ден қою уақыты",
    ),
    ("Time to contain", "Время локализации", "Оқшаулау уақыты"),
    ("Time to close", "Время закрытия", "Жабу уақыты"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn medians_and_means_count_only_incidents_with_both_ends() {
        let row = |level: u8, began: Option<&str>, steps: &[(Status, &str)]| MetricsRow {
            category: Category::PasswordAttack,
            level: Criticality::new(level).unwrap(),
            detected: at("2026-11-10T06:00:00Z"),
            began: began.map(at),
            transitions: steps.iter().map(|(s, t)| (*s, at(t))).collect(),
        };
        let rows = [
            row(
                2,
                Some("2026-11-10T05:00:00Z"),
                &[
                    (Status::Confirmed, "2026-11-10T06:10:00Z"),
                    (Status::Contained, "2026-11-10T08:00:00Z"),
                    (Status::Eradicated, "2026-11-10T09:00:00Z"),
                    (Status::Recovered, "2026-11-10T10:00:00Z"),
                    (Status::Closed, "2026-11-11T06:00:00Z"),
                ],
            ),
            row(2, None, &[(Status::Confirmed, "2026-11-10T06:30:00Z")]),
            row(4, None, &[(Status::FalsePositive, "2026-11-10T06:20:00Z")]),
        ];
        let r = MetricsReport::build(
            "a".into(),
            "A".into(),
            (2026, 11),
            at("2026-12-01T00:00:00Z"),
            &rows,
        );
        assert_eq!(r.total.incidents, 3);
        let [detect, ack, contain, close] = r.total.stats;
        assert_eq!(
            (detect.count, detect.median),
            (1, Some(SignedDuration::from_hours(1)))
        );
        assert_eq!(ack.count, 3);
        assert_eq!(ack.median, Some(SignedDuration::from_mins(20)));
        assert_eq!(ack.mean, Some(SignedDuration::from_mins(20)));
        assert_eq!(
            (contain.count, contain.median),
            (1, Some(SignedDuration::from_hours(2)))
        );
        assert_eq!(
            (close.count, close.median),
            (1, Some(SignedDuration::from_hours(24)))
        );
        assert_eq!(r.by_level.len(), 2);
        assert_eq!(
            r.by_level[0].1.stats[1].median,
            Some(SignedDuration::from_mins(20))
        );
        assert_eq!(
            hours_minutes(SignedDuration::from_secs(3 * 3600 + 5 * 60 + 31)),
            "3:06"
        );
    }

    #[test]
    fn months_are_kazakhstan_months() {
        let (from, to) = month_range(2026, 12).unwrap();
        assert_eq!(from, at("2026-11-30T19:00:00Z"));
        assert_eq!(to, at("2026-12-31T19:00:00Z"));
        let (from, _) = month_range(2024, 2).unwrap();
        assert_eq!(from, at("2024-01-31T18:00:00Z"), "UTC+6 before March 2024");
        assert!(month_range(2026, 13).is_err());
    }
}
