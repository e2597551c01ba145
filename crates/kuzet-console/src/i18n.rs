//! The console's three languages: Fluent messages per language (`i18n/*.ftl`, compiled in), CLDR plural rules
//! (Kazakh and Russian count differently from English), and times shown in Kazakhstan time.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use jiff::Timestamp;

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Kk,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language's own name, as a switch shows it.
    pub fn native(self) -> &'static str {
        match self {
            Lang::Kk => "Қазақша",
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The first language of an `Accept-Language` header the console speaks.
    pub fn negotiate(accept: &str) -> Option<Lang> {
        accept
            .split(',')
            .filter_map(|part| part.split(';').next())
            .filter_map(|tag| tag.trim().split('-').next())
            .find_map(|primary| Lang::parse(&primary.to_ascii_lowercase()))
    }

    fn source(self) -> &'static str {
        match self {
            Lang::Kk => include_str!("../i18n/kk.ftl"),
            Lang::Ru => include_str!("../i18n/ru.ftl"),
            Lang::En => include_str!("../i18n/en.ftl"),
        }
    }
}

/// The compiled messages of every language.
pub(crate) struct I18n {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

impl I18n {
    pub fn new() -> Self {
        let bundles = Lang::ALL
            .into_iter()
            .map(|lang| {
                let (resource, errors) = match FluentResource::try_new(lang.source().to_owned()) {
                    Ok(resource) => (resource, Vec::new()),
                    Err((resource, errors)) => (resource, errors),
                };
                for error in errors {
                    tracing::error!(lang = lang.code(), %error, "console translation file does not parse");
                }
                let id: unic_langid::LanguageIdentifier = lang
                    .code()
                    .parse()
                    .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // No Unicode isolation marks around values: the pages are left-to-right only.
                bundle.set_use_isolating(false);
                if let Err(errors) = bundle.add_resource(resource) {
                    for error in errors {
                        tracing::error!(lang = lang.code(), %error, "console translation repeated");
                    }
                }
                (lang, bundle)
            })
            .collect();
        Self { bundles }
    }

    pub fn tr(&self, lang: Lang) -> Tr<'_> {
        let bundle = self
            .bundles
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, b)| b);
        Tr { lang, bundle }
    }
}

/// One language's messages, as the templates use them.
#[derive(Clone, Copy)]
pub(crate) struct Tr<'a> {
    pub lang: Lang,
    bundle: Option<&'a FluentBundle<FluentResource>>,
}

impl Tr<'_> {
    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let Some(bundle) = self.bundle else {
            return id.to_owned();
        };
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            // A missing message shows its id: visible, and caught by the tests over every template.
            tracing::warn!(lang = self.lang.code(), id, "console message missing");
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        for error in errors {
            tracing::warn!(lang = self.lang.code(), id, %error, "console message incomplete");
        }
        text.into_owned()
    }

    /// A message.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message about `count` things, in the language's plural form.
    pub fn n(&self, id: &str, count: impl std::borrow::Borrow<u64>) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(*count.borrow()));
        self.format(id, Some(&args))
    }

    /// A message with one named text argument.
    pub fn with(&self, id: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_owned()));
        self.format(id, Some(&args))
    }

    /// The label of a value the API names (a level, a status, an obligation): the message `prefix-value` (with
    /// `_` and `.` as `-`), or the value itself when there is none — a value newer than the console still shows.
    pub fn kind(&self, prefix: &str, value: &str) -> String {
        let id = format!("{prefix}-{}", value.replace(['_', '.'], "-"));
        match self.bundle.and_then(|b| b.get_message(&id)) {
            Some(_) => self.format(&id, None),
            None => value.to_owned(),
        }
    }

    /// An instant in Kazakhstan time, to the minute.
    pub fn time(&self, at: &Timestamp) -> String {
        kuzet_model::time::kz_local(*at)
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// An instant in Kazakhstan time, to the second.
    pub fn time_seconds(&self, at: &Timestamp) -> String {
        kuzet_model::time::kz_local(*at)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// An instant as the machine-readable attribute a countdown script reads.
    pub fn iso(&self, at: &Timestamp) -> String {
        at.to_string()
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(lang: Lang) -> std::collections::BTreeSet<String> {
        lang.source()
            .lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_language_has_every_message_and_parses() {
        let en = ids(Lang::En);
        assert!(en.len() > 50, "{}", en.len());
        for lang in [Lang::Kk, Lang::Ru] {
            let other = ids(lang);
            let missing: Vec<_> = en.difference(&other).collect();
            let extra: Vec<_> = other.difference(&en).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{lang:?}: missing {missing:?}, extra {extra:?}"
            );
        }
        for lang in Lang::ALL {
            assert!(
                FluentResource::try_new(lang.source().to_owned()).is_ok(),
                "{lang:?} does not parse"
            );
        }
    }

    /// Every message a template or handler asks for exists (a missing one would show its id).
    #[test]
    fn every_message_used_exists() {
        let en = ids(Lang::En);
        let mut used = std::collections::BTreeSet::new();
        let dirs = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src"),
        ];
        for dir in dirs {
            for entry in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                for call in [
                    "tr.t(\"",
                    "tr.n(\"",
                    "tr.with(\"",
                    ".t(\"",
                    ".n(\"",
                    "Column(\"",
                ] {
                    for (at, _) in text.match_indices(call) {
                        let rest = &text[at + call.len()..];
                        if let Some(end) = rest.find('"') {
                            used.insert(rest[..end].to_owned());
                        }
                    }
                }
            }
        }
        // Form titles and field labels are passed by id: the second literal of `.text(`, `.choice(`, … calls.
        for file in ["/src/tables.rs", "/src/pages.rs"] {
            let text =
                std::fs::read_to_string(format!("{}{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            for call in ["FormView::new(", ".text(", ".hinted(", ".choice("] {
                for (at, _) in text.match_indices(call) {
                    let literals: Vec<&str> =
                        text[at..].split('"').skip(1).step_by(2).take(2).collect();
                    if let Some(label) = literals.get(1) {
                        used.insert((*label).to_owned());
                    }
                }
            }
        }
        // Table titles are passed by id: every literal that ends in `-title`.
        let tables = ["/src/tables.rs", "/src/pages.rs"]
            .map(|f| std::fs::read_to_string(format!("{}{f}", env!("CARGO_MANIFEST_DIR"))).unwrap())
            .join("\n");
        for piece in tables.split('"').skip(1).step_by(2) {
            if piece.ends_with("-title") && !piece.contains(' ') {
                used.insert(piece.to_owned());
            }
        }
        used.retain(|id| !id.is_empty() && !id.contains('{'));
        let missing: Vec<_> = used.difference(&en).collect();
        assert!(used.len() > 30, "{used:?}");
        assert!(missing.is_empty(), "used but not translated: {missing:?}");
    }

    /// Every value the API names that the pages label has its message in every language.
    #[test]
    fn every_named_value_has_a_label() {
        let sectors: Vec<&str> = kuzet_model::Sector::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        let kinds: &[(&str, &[&str])] = &[
            ("sector", &sectors),
            ("sector", &["unknown"]),
            (
                "severity",
                &["critical", "high", "medium", "low", "informational"],
            ),
            (
                "alert-status",
                &["new", "acknowledged", "false_positive", "escalated"],
            ),
            ("clock", &["pending", "due_soon", "overdue", "done"]),
            ("range", &crate::search::RANGES),
            ("exchange-state", &["pending", "retrying", "delivered"]),
            ("shown", &["one_time_password", "secret", "token"]),
            ("treatment", &["mitigate", "accept", "transfer", "avoid"]),
            ("asset-seen", &["host", "address"]),
            ("crisis-state", &["open", "closed"]),
            (
                "anomaly-kind",
                &["logon_hour", "new_source", "new_process", "volume"],
            ),
            ("observable-kind", &crate::pages::OBSERVABLE_KINDS),
            ("contact-role", &["owner", "security", "personal_data"]),
            ("contact-channel", &["email", "webhook"]),
            ("lang", &["kk", "ru", "en"]),
            (
                "entry",
                &[
                    "comment",
                    "event",
                    "cause",
                    "lessons",
                    "alert",
                    "detected",
                    "evidence",
                    "notification",
                    "obligation",
                    "status",
                    "task",
                ],
            ),
            (
                "obligation",
                &[
                    "owner_notification",
                    "nccis_report",
                    "personal_data_notice",
                    "contact_change",
                    "quarterly_report",
                    "quarterly_contact_confirmation",
                    "response_process_review",
                ],
            ),
            ("category", &crate::pages::CATEGORIES),
            (
                "incident-status",
                &[
                    "detected",
                    "confirmed",
                    "false_positive",
                    "contained",
                    "eradicated",
                    "recovered",
                    "closed",
                ],
            ),
            (
                "incident-move",
                &[
                    "confirmed",
                    "false_positive",
                    "contained",
                    "eradicated",
                    "recovered",
                    "closed",
                ],
            ),
        ];
        for lang in Lang::ALL {
            let ids = ids(lang);
            for (prefix, values) in kinds {
                for value in *values {
                    let id = format!("{prefix}-{}", value.replace(['_', '.'], "-"));
                    assert!(ids.contains(&id), "{lang:?}: no message `{id}`");
                }
            }
        }
        let i18n = I18n::new();
        assert_eq!(i18n.tr(Lang::Ru).kind("severity", "high"), "высокая");
        assert_eq!(
            i18n.tr(Lang::Ru).kind("severity", "unheard-of"),
            "unheard-of"
        );
    }

    #[test]
    fn plural_forms_follow_each_language() {
        let i18n = I18n::new();
        let en = i18n.tr(Lang::En);
        assert_eq!(en.n("alerts-waiting", 1), "1 alert waiting");
        assert_eq!(en.n("alerts-waiting", 5), "5 alerts waiting");
        let ru = i18n.tr(Lang::Ru);
        assert_eq!(ru.n("alerts-waiting", 1), "1 оповещение ждёт разбора");
        assert_eq!(ru.n("alerts-waiting", 3), "3 оповещения ждут разбора");
        assert_eq!(ru.n("alerts-waiting", 5), "5 оповещений ждут разбора");
        assert_eq!(ru.n("alerts-waiting", 21), "21 оповещение ждёт разбора");
        assert_eq!(ru.n("alerts-waiting", 12), "12 оповещений ждут разбора");
        assert_eq!(ru.n("retention-kept", 3u64), "хранится 3 года");
        assert_eq!(ru.n("retention-searchable", 60u64), "поиск за 60 дней");
        assert_eq!(ru.n("retention-searchable", 61u64), "поиск за 61 день");
        let kk = i18n.tr(Lang::Kk);
        assert_eq!(kk.n("alerts-waiting", 1), "1 ескерту талдауды күтуде");
        assert_eq!(kk.n("alerts-waiting", 5), "5 ескерту талдауды күтуде");
    }

    #[test]
    fn languages_are_negotiated_from_the_header() {
        assert_eq!(Lang::negotiate("ru-RU,ru;q=0.9,en;q=0.8"), Some(Lang::Ru));
        assert_eq!(Lang::negotiate("de, kk-KZ;q=0.5"), Some(Lang::Kk));
        assert_eq!(Lang::negotiate("de"), None);
    }

    #[test]
    fn times_are_kazakhstan_time() {
        let i18n = I18n::new();
        let at: Timestamp = "2026-12-07T05:30:00Z".parse().unwrap();
        assert_eq!(i18n.tr(Lang::En).time(&at), "2026-12-07 10:30");
    }
}
