//! Incident reports of a tenant, rendered as CSV or HTML in Kazakh, Russian or English (the regulation wants IS
//! documentation in Kazakh and Russian, R27): the quarterly report (R20: the quarter's incidents and the measures
//! taken) and the incident journal (R13: the log of IS incidents and emergency situations, over any period).
//! Pure: the caller gathers the rows; rendering escapes everything it is given.

use jiff::Timestamp;
use kuzet_model::Criticality;

use crate::{Category, Quarter, Status};

/// The language of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Kk,
    Ru,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "kk" => Some(Lang::Kk),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

/// One incident of the quarter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub incident: String,
    pub title: String,
    pub category: Category,
    pub level: Criticality,
    pub status: Status,
    pub detected: Timestamp,
    pub confirmed: Option<Timestamp>,
    pub personal_data: bool,
    /// The measures done, in the report's language.
    pub measures: Vec<String>,
}

/// Which report, over which period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The quarterly report of incidents and measures (R20).
    Quarterly(Quarter),
    /// The log of IS incidents and emergency situations between two instants (R13).
    Journal { from: Timestamp, to: Timestamp },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentReport {
    pub kind: ReportKind,
    pub tenant: String,
    pub tenant_name: String,
    pub generated: Timestamp,
    pub rows: Vec<ReportRow>,
}

/// (en, ru, kk)
pub(crate) type Words = (&'static str, &'static str, &'static str);

pub(crate) fn pick(lang: Lang, words: Words) -> &'static str {
    match lang {
        Lang::En => words.0,
        Lang::Ru => words.1,
        Lang::Kk => words.2,
    }
}

const QUARTERLY_TITLE: Words = (
    "Quarterly report on information security incidents",
    "Квартальный отчёт об инцидентах информационной безопасности",
    "Ақпараттық қауіпсіздік инциденттері туралы тоқсандық есеп",
);
const JOURNAL_TITLE: Words = (
    "Log of information security incidents and emergency situations",
    "Журнал учёта инцидентов информационной безопасности и чрезвычайных ситуаций",
    "Ақпараттық қауіпсіздік инциденттері мен төтенше жағдайларды тіркеу журналы",
);
pub(crate) const ORGANIZATION: Words = ("Organization", "Организация", "Ұйым");
pub(crate) const PERIOD: Words = ("Period", "Период", "Кезең");
pub(crate) const GENERATED: Words = ("Generated", "Сформирован", "Жасалды");
pub(crate) const TOTAL: Words = (
    "Incidents in the period",
    "Инцидентов за период",
    "Кезеңдегі инциденттер",
);
pub(crate) const NONE: Words = (
    "No incidents in this period.",
    "Инцидентов за период не было.",
    "Кезеңде инциденттер болған жоқ.",
);
const COLUMNS: [Words; 9] = [
    ("Incident", "Инцидент", "Инцидент"),
    ("Detected", "Обнаружен", "Анықталды"),
    ("Confirmed", "Подтверждён", "Расталды"),
    ("Category", "Категория", "Санат"),
    ("Level", "Уровень критичности", "Сындылық деңгейі"),
    ("Status", "Статус", "Мәртебе"),
    ("Description", "Описание", "Сипаттама"),
    ("Personal data", "Персональные данные", "Дербес деректер"),
    ("Measures taken", "Принятые меры", "Қабылданған шаралар"),
];
pub(crate) const YES: Words = ("yes", "да", "иә");
pub(crate) const NO: Words = ("no", "нет", "жоқ");

pub(crate) fn status(lang: Lang, s: Status) -> &'static str {
    pick(
        lang,
        match s {
            Status::Detected => ("detected", "обнаружен", "анықталды"),
            Status::Confirmed => ("confirmed", "подтверждён", "расталды"),
            Status::FalsePositive => (
                "false positive",
                "ложное срабатывание",
                "жалған іске қосылу",
            ),
            Status::Contained => ("contained", "локализован", "оқшауланды"),
            Status::Eradicated => ("eradicated", "устранён", "жойылды"),
            Status::Recovered => ("recovered", "восстановлен", "қалпына келтірілді"),
            Status::Closed => ("closed", "закрыт", "жабылды"),
        },
    )
}

pub(crate) fn category(lang: Lang, c: Category) -> &'static str {
    // Russian uses KZ-CERT's own names; English and Kazakh are ours: (en, kk).
    let (en, kk) = match c {
        Category::DenialOfService => ("DoS/DDoS attack", "DoS/DDoS-шабуыл"),
        Category::UnauthorizedAccess => ("Unauthorized access", "Рұқсатсыз қол жеткізу"),
        Category::Malware => ("Malware", "Зиянды бағдарламалық қамтылым"),
        Category::Spam => ("Spam", "Спам"),
        Category::Scanning => ("Scanning", "Сканерлеу"),
        Category::PasswordAttack => (
            "Password guessing or theft",
            "Құпиясөздерді іріктеу немесе ұрлау",
        ),
        Category::ProtectionBypass => ("Breaking protection systems", "Қорғау құралдарын бұзу"),
        Category::DataLeak => ("Data leak", "Ақпараттың жылыстауы"),
        Category::Fraud => ("Fraud", "Алаяқтық"),
        Category::Other => ("Other", "Басқа"),
    };
    match lang {
        Lang::Ru => c.kz_cert(),
        Lang::En => en,
        Lang::Kk => kk,
    }
}

pub(crate) fn level(lang: Lang, l: Criticality) -> String {
    let name = pick(
        lang,
        [
            ("baseline", "базовый", "базалық"),
            ("low", "низкий", "төмен"),
            ("medium", "средний", "орташа"),
            ("high", "высокий", "жоғары"),
            ("severe", "тяжёлый", "ауыр"),
            ("emergency", "чрезвычайный", "төтенше"),
        ][usize::from(l.value())],
    );
    format!("{} ({name})", l.value())
}

fn quarter_label(lang: Lang, q: Quarter) -> String {
    let roman = ["I", "II", "III", "IV"][usize::from(q.number.clamp(1, 4) as u8 - 1)];
    match lang {
        Lang::En => format!("Q{} {}", q.number, q.year),
        Lang::Ru => format!("{roman} квартал {} г.", q.year),
        Lang::Kk => format!("{} жылғы {roman} тоқсан", q.year),
    }
}

/// Text made safe inside HTML or XML elements and attributes.
pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Kazakhstan local time, to the minute.
pub(crate) fn local(t: Timestamp) -> String {
    crate::clocks::kz_local_text(t)
}

/// A spreadsheet runs a cell that begins with `=`, `+`, `-`, `@` (or a tab or carriage return before one) as a
/// formula: such a cell gets a leading apostrophe, which spreadsheets show as text and do not run (CSV injection).
pub(crate) fn neutralize_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn cells(lang: Lang, row: &ReportRow) -> [String; 9] {
    [
        row.incident.clone(),
        local(row.detected),
        row.confirmed.map(local).unwrap_or_default(),
        category(lang, row.category).to_owned(),
        level(lang, row.level),
        status(lang, row.status).to_owned(),
        row.title.clone(),
        pick(lang, if row.personal_data { YES } else { NO }).to_owned(),
        row.measures.join("; "),
    ]
}

impl IncidentReport {
    fn title(&self) -> Words {
        match self.kind {
            ReportKind::Quarterly(_) => QUARTERLY_TITLE,
            ReportKind::Journal { .. } => JOURNAL_TITLE,
        }
    }

    fn period(&self, lang: Lang) -> String {
        match self.kind {
            ReportKind::Quarterly(q) => quarter_label(lang, q),
            ReportKind::Journal { from, to } => format!("{} — {}", local(from), local(to)),
        }
    }

    /// The period as instants: a quarter's first instant and the next quarter's, or the journal's range.
    fn bounds(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        match self.kind {
            ReportKind::Quarterly(q) => (q.start().ok(), q.next().start().ok()),
            ReportKind::Journal { from, to } => (Some(from), Some(to)),
        }
    }

    /// XML (`urn:kuzet:report:1`, `docs/formats/incident-data.md`): codes for machines beside labels in `lang`
    /// for people; times in UTC (RFC 3339). Everything given is escaped.
    pub fn to_xml(&self, lang: Lang) -> String {
        let esc = xml_escape;
        let kind = match self.kind {
            ReportKind::Quarterly(_) => "quarterly",
            ReportKind::Journal { .. } => "journal",
        };
        let (from, to) = self.bounds();
        let instant = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<incident-report xmlns=\"urn:kuzet:report:1\" kind=\"{kind}\" lang=\"{}\">\n  <title>{}</title>\n  <organization id=\"{}\">{}</organization>\n  <period from=\"{}\" to=\"{}\">{}</period>\n  <generated>{}</generated>\n  <incidents count=\"{}\">\n",
            lang.code(),
            esc(pick(lang, self.title())),
            esc(&self.tenant),
            esc(&self.tenant_name),
            instant(from),
            instant(to),
            esc(&self.period(lang)),
            self.generated,
            self.rows.len(),
        );
        out.push_str(&xml_incidents(&self.rows, lang, "    "));
        out.push_str("  </incidents>\n</incident-report>\n");
        out
    }

    /// RFC 4180 CSV with a header row; every field quoted.
    pub fn to_csv(&self, lang: Lang) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut out = String::new();
        let header: Vec<String> = COLUMNS.iter().map(|c| quote(pick(lang, *c))).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let line: Vec<String> = cells(lang, row)
                .iter()
                .map(|c| quote(&neutralize_formula(c)))
                .collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// A printable HTML page, everything escaped, no scripts, no outside resources.
    pub fn to_html(&self, lang: Lang) -> String {
        let esc = escape_html;
        let mut out = format!(
            "<!doctype html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{}</title>\n\
             <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #888;padding:4px;vertical-align:top}}</style>\n\
             </head>\n<body>\n<h1>{}</h1>\n<p>{}: {} ({})<br>{}: {}<br>{}: {}</p>\n<p>{}: {}</p>\n",
            lang.code(),
            esc(pick(lang, self.title())),
            esc(pick(lang, self.title())),
            esc(pick(lang, ORGANIZATION)),
            esc(&self.tenant_name),
            esc(&self.tenant),
            esc(pick(lang, PERIOD)),
            esc(&self.period(lang)),
            esc(pick(lang, GENERATED)),
            esc(&local(self.generated)),
            esc(pick(lang, TOTAL)),
            self.rows.len(),
        );
        out.push_str(&html_rows(lang, &self.rows));
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// The incidents as an HTML table with the report's columns, or the sentence that there were none.
fn html_rows(lang: Lang, rows: &[ReportRow]) -> String {
    let esc = escape_html;
    if rows.is_empty() {
        return format!("<p>{}</p>\n", esc(pick(lang, NONE)));
    }
    let mut out = String::from("<table>\n<tr>");
    for c in COLUMNS {
        out.push_str(&format!("<th>{}</th>", esc(pick(lang, c))));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in cells(lang, row) {
            out.push_str(&format!("<td>{}</td>", esc(&cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// Text made safe in XML: escaped, and without the control characters XML 1.0 forbids (all but tab and line feed).
fn xml_escape(s: &str) -> String {
    escape_html(
        &s.chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect::<String>(),
    )
}

/// The `<incident>` elements of `rows`, each line indented by `pad`.
fn xml_incidents(rows: &[ReportRow], lang: Lang, pad: &str) -> String {
    let esc = xml_escape;
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!(
            "{pad}<incident id=\"{}\">\n{pad}  <title>{}</title>\n{pad}  <category code=\"{}\">{}</category>\n{pad}  <level value=\"{}\">{}</level>\n{pad}  <status code=\"{}\">{}</status>\n{pad}  <detected>{}</detected>\n",
            esc(&r.incident),
            esc(&r.title),
            r.category.as_str(),
            esc(category(lang, r.category)),
            r.level.value(),
            esc(&level(lang, r.level)),
            r.status.as_str(),
            esc(status(lang, r.status)),
            r.detected,
        ));
        if let Some(c) = r.confirmed {
            out.push_str(&format!("{pad}  <confirmed>{c}</confirmed>\n"));
        }
        out.push_str(&format!(
            "{pad}  <personal-data>{}</personal-data>\n{pad}  <measures>\n",
            r.personal_data
        ));
        for m in &r.measures {
            out.push_str(&format!("{pad}    <measure>{}</measure>\n", esc(m)));
        }
        out.push_str(&format!("{pad}  </measures>\n{pad}</incident>\n"));
    }
    out
}

const CONSOLIDATED_TITLE: Words = (
    "Consolidated quarterly report on information security incidents",
    "Сводный квартальный отчёт об инцидентах информационной безопасности",
    "Ақпараттық қауіпсіздік инциденттері туралы жиынтық тоқсандық есеп",
);
const ORGANIZATIONS: Words = ("Organizations", "Организаций", "Ұйымдар");
const BY_LEVEL: Words = (
    "By criticality level",
    "По уровню критичности",
    "Сындылық деңгейі бойынша",
);
const BY_CATEGORY: Words = ("By category", "По категориям", "Санаттар бойынша");
const BY_ORGANIZATION: Words = ("By organization", "По организациям", "Ұйымдар бойынша");

/// The quarter's incidents of every organization an ISOC serves (R20), with totals by level, category and
/// organization: the per-tenant quarterly reports side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsolidatedReport {
    pub quarter: Quarter,
    pub generated: Timestamp,
    /// One quarterly report per organization, in the order given.
    pub parts: Vec<IncidentReport>,
}

impl ConsolidatedReport {
    fn rows(&self) -> impl Iterator<Item = (&IncidentReport, &ReportRow)> {
        self.parts
            .iter()
            .flat_map(|p| p.rows.iter().map(move |r| (p, r)))
    }

    /// (label, count) per level 0–5 that occurred, per category that occurred, per organization.
    fn totals(&self, lang: Lang) -> [(Words, Vec<(String, usize)>); 3] {
        let mut levels = [0usize; 6];
        let mut categories: Vec<(Category, usize)> = Vec::new();
        for (_, r) in self.rows() {
            levels[usize::from(r.level.value()).min(5)] += 1;
            match categories.iter_mut().find(|(c, _)| *c == r.category) {
                Some((_, n)) => *n += 1,
                None => categories.push((r.category, 1)),
            }
        }
        categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_str().cmp(b.0.as_str())));
        let by_level = (0..6u8)
            .rev()
            .filter(|l| levels[usize::from(*l)] > 0)
            .filter_map(|l| {
                Criticality::new(l)
                    .ok()
                    .map(|c| (level(lang, c), levels[usize::from(l)]))
            })
            .collect();
        let by_category = categories
            .into_iter()
            .map(|(c, n)| (category(lang, c).to_owned(), n))
            .collect();
        let by_organization = self
            .parts
            .iter()
            .map(|p| (format!("{} ({})", p.tenant_name, p.tenant), p.rows.len()))
            .collect();
        [
            (BY_LEVEL, by_level),
            (BY_CATEGORY, by_category),
            (BY_ORGANIZATION, by_organization),
        ]
    }

    /// RFC 4180 CSV: the organization's id and name, then the quarterly report's columns; every field quoted.
    pub fn to_csv(&self, lang: Lang) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut header = vec![
            quote(&format!("{} (id)", pick(lang, ORGANIZATION))),
            quote(pick(lang, ORGANIZATION)),
        ];
        header.extend(COLUMNS.iter().map(|c| quote(pick(lang, *c))));
        let mut out = header.join(",");
        out.push_str("\r\n");
        for (part, row) in self.rows() {
            let mut line = vec![
                quote(&neutralize_formula(&part.tenant)),
                quote(&neutralize_formula(&part.tenant_name)),
            ];
            line.extend(
                cells(lang, row)
                    .iter()
                    .map(|c| quote(&neutralize_formula(c))),
            );
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// A printable HTML page: the totals, then each organization's incidents; everything escaped, no scripts.
    pub fn to_html(&self, lang: Lang) -> String {
        let esc = escape_html;
        let total: usize = self.parts.iter().map(|p| p.rows.len()).sum();
        let mut out = format!(
            "<!doctype html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{}</title>\n\
             <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #888;padding:4px;vertical-align:top}}</style>\n\
             </head>\n<body>\n<h1>{}</h1>\n<p>{}: {}<br>{}: {}<br>{}: {}<br>{}: {}</p>\n",
            lang.code(),
            esc(pick(lang, CONSOLIDATED_TITLE)),
            esc(pick(lang, CONSOLIDATED_TITLE)),
            esc(pick(lang, PERIOD)),
            esc(&quarter_label(lang, self.quarter)),
            esc(pick(lang, GENERATED)),
            esc(&local(self.generated)),
            esc(pick(lang, ORGANIZATIONS)),
            self.parts.len(),
            esc(pick(lang, TOTAL)),
            total,
        );
        for (heading, counts) in self.totals(lang) {
            if counts.is_empty() {
                continue;
            }
            out.push_str(&format!("<h2>{}</h2>\n<table>\n", esc(pick(lang, heading))));
            for (label, n) in counts {
                out.push_str(&format!("<tr><td>{}</td><td>{n}</td></tr>\n", esc(&label)));
            }
            out.push_str("</table>\n");
        }
        for part in &self.parts {
            out.push_str(&format!(
                "<h2>{} ({})</h2>\n",
                esc(&part.tenant_name),
                esc(&part.tenant)
            ));
            out.push_str(&html_rows(lang, &part.rows));
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    /// XML (`urn:kuzet:report:1`, `kind="consolidated"`): each organization with its incidents, as in the
    /// quarterly report.
    pub fn to_xml(&self, lang: Lang) -> String {
        let esc = xml_escape;
        let start = self
            .quarter
            .start()
            .ok()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let end = self
            .quarter
            .next()
            .start()
            .ok()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<incident-report xmlns=\"urn:kuzet:report:1\" kind=\"consolidated\" lang=\"{}\">\n  <title>{}</title>\n  <period from=\"{start}\" to=\"{end}\">{}</period>\n  <generated>{}</generated>\n",
            lang.code(),
            esc(pick(lang, CONSOLIDATED_TITLE)),
            esc(&quarter_label(lang, self.quarter)),
            self.generated,
        );
        for part in &self.parts {
            out.push_str(&format!(
                "  <organization id=\"{}\" name=\"{}\">\n    <incidents count=\"{}\">\n",
                esc(&part.tenant),
                esc(&part.tenant_name),
                part.rows.len()
            ));
            out.push_str(&xml_incidents(&part.rows, lang, "      "));
            out.push_str("    </incidents>\n  </organization>\n");
        }
        out.push_str("</incident-report>\n");
        out
    }
}
