//! What Kuzet tells people about an incident, in Kazakh, Russian or English: the notice to a tenant's contacts
//! when an incident is confirmed (R15 wants the facility owner told at once). Pure: the caller gathers the facts
//! and delivers the text (e-mail, webhook); rendering is plain text, so nothing in it is markup.

use jiff::Timestamp;
use kuzet_model::Criticality;

use crate::report::{NO, Words, YES, category, level, local, pick, status};
use crate::{Category, Lang, Status};

/// Why a notice is sent; the stable name is stored with it and sent in webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// An incident of the tenant was confirmed (R15: tell the owner at once).
    IncidentConfirmed,
    /// At the NCCIS hub: an ISOC reported an incident of level 3, 4 or 5, which NCCIS passes to the national
    /// security bodies (R11).
    Escalation,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::IncidentConfirmed => "incident.confirmed",
            NoticeKind::Escalation => "incident.escalated",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [NoticeKind::IncidentConfirmed, NoticeKind::Escalation]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// The facts a notice about an incident states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFacts {
    pub organization: String,
    /// The organization's sector, when said (the NCCIS national view counts by it).
    pub sector: Option<kuzet_model::Sector>,
    pub incident: String,
    pub title: String,
    pub category: Category,
    pub level: Criticality,
    pub status: Status,
    pub detected: Timestamp,
    pub confirmed: Option<Timestamp>,
    pub facilities: Vec<String>,
    pub personal_data: bool,
}

/// A rendered notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub body: String,
}

const SUBJECT: Words = (
    "Information security incident confirmed",
    "Подтверждён инцидент информационной безопасности",
    "Ақпараттық қауіпсіздік инциденті расталды",
);
const OPENING: Words = (
    "The operational information security center (ISOC) informs you that an information security incident at your \
     organization has been confirmed.",
    "Оперативный центр информационной безопасности (ОЦИБ) сообщает о подтверждении инцидента информационной \
     безопасности в вашей организации.",
    "Ақпараттық қауіпсіздіктің жедел орталығы (АҚЖО) сіздің ұйымыңызда ақпараттық қауіпсіздік инцидентінің \
     расталғанын хабарлайды.",
);
const ORGANIZATION: Words = ("Organization", "Организация", "Ұйым");
const INCIDENT: Words = ("Incident", "Инцидент", "Инцидент");
const DESCRIPTION: Words = ("Description", "Описание", "Сипаттама");
const CATEGORY: Words = ("Category", "Категория", "Санат");
const LEVEL: Words = (
    "Criticality level",
    "Уровень критичности",
    "Сындылық деңгейі",
);
const STATUS: Words = ("Status", "Статус", "Мәртебе");
const DETECTED: Words = ("Detected", "Обнаружен", "Анықталды");
const CONFIRMED: Words = ("Confirmed", "Подтверждён", "Расталды");
const FACILITIES: Words = (
    "Facilities affected",
    "Затронутые объекты",
    "Зардап шеккен объектілер",
);
const NOT_NAMED: Words = ("not named yet", "пока не указаны", "әлі көрсетілмеген");
const PERSONAL_DATA: Words = (
    "Personal data involved",
    "Затронуты персональные данные",
    "Дербес деректер қамтылған",
);
const TIME_NOTE: Words = (
    "Times are Kazakhstan time.",
    "Время указано по времени Казахстана.",
    "Уақыт Қазақстан уақытымен көрсетілген.",
);
const CLOSING: Words = (
    "The ISOC reports the incident to the National Coordination Center for Information Security within 15 minutes \
     of its confirmation and follows the response plan. Contact your ISOC for the measures expected of you.",
    "ОЦИБ направляет сведения об инциденте в Национальный координационный центр информационной безопасности в \
     течение 15 минут после подтверждения и действует по плану реагирования. По мерам, ожидаемым от вашей \
     организации, обращайтесь в ОЦИБ.",
    "АҚЖО инцидент туралы мәліметтерді расталғаннан кейін 15 минут ішінде Ақпараттық қауіпсіздікті үйлестірудің \
     ұлттық орталығына жібереді және ден қою жоспары бойынша әрекет етеді. Ұйымыңыздан күтілетін шаралар \
     бойынша АҚЖО-ға хабарласыңыз.",
);

const ESCALATION_SUBJECT: Words = (
    "Incident of a high criticality level reported to NCCIS",
    "В НКЦИБ поступил инцидент высокого уровня критичности",
    "АҚҮҰО-ға сындылық деңгейі жоғары инцидент түсті",
);
const ESCALATION_OPENING: Words = (
    "An ISOC has reported an information security incident of criticality level 3 or higher. NCCIS passes such \
     incidents to the national security bodies.",
    "ОЦИБ сообщил об инциденте информационной безопасности уровня критичности 3 или выше. Такие инциденты НКЦИБ \
     передаёт в органы национальной безопасности.",
    "АҚЖО сындылық деңгейі 3 немесе одан жоғары ақпараттық қауіпсіздік инциденті туралы хабарлады. Мұндай \
     инциденттерді АҚҮҰО ұлттық қауіпсіздік органдарына береді.",
);
const ESCALATION_CLOSING: Words = (
    "The full report is at the NCCIS hub (national view).",
    "Полные сведения — на платформе НКЦИБ (национальная сводка).",
    "Толық мәліметтер — АҚҮҰО платформасында (ұлттық жиынтық).",
);

/// The notice of `kind` about an incident, in `lang`.
pub fn render_notice(kind: NoticeKind, facts: &NoticeFacts, lang: Lang) -> Notice {
    match kind {
        NoticeKind::IncidentConfirmed => incident_notice(facts, lang, (SUBJECT, OPENING, CLOSING)),
        NoticeKind::Escalation => incident_notice(
            facts,
            lang,
            (ESCALATION_SUBJECT, ESCALATION_OPENING, ESCALATION_CLOSING),
        ),
    }
}

/// A notice stating an incident's facts between an opening and a closing.
fn incident_notice(
    f: &NoticeFacts,
    lang: Lang,
    (subject_words, opening, closing): (Words, Words, Words),
) -> Notice {
    // Titles are typed by people: one line in the subject, whatever they hold.
    let title: String = f
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let subject = format!(
        "[{}] {}: {} — {}",
        f.level.value(),
        pick(lang, subject_words),
        f.organization,
        title
    );
    let facilities = if f.facilities.is_empty() {
        pick(lang, NOT_NAMED).to_owned()
    } else {
        f.facilities.join(", ")
    };
    let mut lines = vec![
        pick(lang, opening).to_owned(),
        String::new(),
        format!("{}: {}", pick(lang, ORGANIZATION), f.organization),
        format!("{}: {}", pick(lang, INCIDENT), f.incident),
        format!("{}: {}", pick(lang, DESCRIPTION), title),
        format!("{}: {}", pick(lang, CATEGORY), category(lang, f.category)),
        format!("{}: {}", pick(lang, LEVEL), level(lang, f.level)),
        format!("{}: {}", pick(lang, STATUS), status(lang, f.status)),
        format!("{}: {}", pick(lang, DETECTED), local(f.detected)),
    ];
    if let Some(at) = f.confirmed {
        lines.push(format!("{}: {}", pick(lang, CONFIRMED), local(at)));
    }
    lines.push(format!("{}: {facilities}", pick(lang, FACILITIES)));
    lines.push(format!(
        "{}: {}",
        pick(lang, PERSONAL_DATA),
        pick(lang, if f.personal_data { YES } else { NO })
    ));
    lines.push(pick(lang, TIME_NOTE).to_owned());
    lines.push(String::new());
    lines.push(pick(lang, closing).to_owned());
    let mut body = lines.join("\n");
    body.push('\n');
    Notice { subject, body }
}

/// The facts of a personal-data breach notice to the authorized body (R22: within one business day of
/// detection, with the contact of the person responsible for processing, the measures taken and the affected
/// persons' identifiers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachFacts {
    pub organization: String,
    pub incident: String,
    pub title: String,
    pub category: Category,
    pub detected: Timestamp,
    /// When the personal-data breach was found.
    pub found: Timestamp,
    /// The persons responsible for processing: (name, e-mail or address).
    pub responsible: Vec<(String, String)>,
    /// The affected persons' identifiers (or their description), as the operator gives them.
    pub affected: String,
    /// The measures taken, in the notice's language.
    pub measures: Vec<String>,
    /// The cause established, if one is.
    pub cause: Option<String>,
}

const BREACH_SUBJECT: Words = (
    "Notice of a personal data breach",
    "Уведомление о нарушении безопасности персональных данных",
    "Дербес деректер қауіпсіздігінің бұзылуы туралы хабарлама",
);
const BREACH_OPENING: Words = (
    "The organization below notifies the authorized body for personal data protection of a breach of the security \
     of personal data.",
    "Нижеуказанная организация уведомляет уполномоченный орган в сфере защиты персональных данных о нарушении \
     безопасности персональных данных.",
    "Төменде көрсетілген ұйым дербес деректерді қорғау саласындағы уәкілетті органға дербес деректер \
     қауіпсіздігінің бұзылғаны туралы хабарлайды.",
);
const FOUND: Words = (
    "Personal data breach found",
    "Нарушение персональных данных выявлено",
    "Дербес деректердің бұзылуы анықталды",
);
const RESPONSIBLE: Words = (
    "Person responsible for organizing the processing of personal data",
    "Лицо, ответственное за организацию обработки персональных данных",
    "Дербес деректерді өңдеуді ұйымдастыруға жауапты тұлға",
);
const NOBODY: Words = (
    "not registered (add a contact of role personal_data)",
    "не указано (добавьте контакт с ролью personal_data)",
    "көрсетілмеген (personal_data рөлі бар байланысты қосыңыз)",
);
const AFFECTED: Words = (
    "Affected persons (identifiers)",
    "Затронутые субъекты (идентификаторы)",
    "Зардап шеккен субъектілер (сәйкестендіргіштер)",
);
const MEASURES: Words = ("Measures taken", "Принятые меры", "Қабылданған шаралар");
const NO_MEASURES: Words = ("none recorded yet", "пока не отмечены", "әлі белгіленбеген");
const CAUSE: Words = ("Cause", "Причина", "Себебі");
const NOT_ESTABLISHED: Words = (
    "not established yet",
    "пока не установлена",
    "әлі анықталмаған",
);

/// The personal-data breach notice in `lang`, plain text.
pub fn render_breach_notice(f: &BreachFacts, lang: Lang) -> Notice {
    let one_line = |t: &str| -> String {
        t.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let subject = format!(
        "{}: {} — {}",
        pick(lang, BREACH_SUBJECT),
        f.organization,
        f.incident
    );
    let mut lines = vec![
        pick(lang, BREACH_OPENING).to_owned(),
        String::new(),
        format!("{}: {}", pick(lang, ORGANIZATION), f.organization),
        format!("{}: {}", pick(lang, INCIDENT), f.incident),
        format!("{}: {}", pick(lang, DESCRIPTION), one_line(&f.title)),
        format!("{}: {}", pick(lang, CATEGORY), category(lang, f.category)),
        format!("{}: {}", pick(lang, DETECTED), local(f.detected)),
        format!("{}: {}", pick(lang, FOUND), local(f.found)),
        format!("{}:", pick(lang, RESPONSIBLE)),
    ];
    if f.responsible.is_empty() {
        lines.push(format!("  {}", pick(lang, NOBODY)));
    }
    for (name, address) in &f.responsible {
        lines.push(format!("  {}, {}", one_line(name), one_line(address)));
    }
    lines.push(format!("{}:", pick(lang, AFFECTED)));
    for line in f.affected.lines() {
        lines.push(format!("  {}", one_line(line)));
    }
    lines.push(format!("{}:", pick(lang, MEASURES)));
    if f.measures.is_empty() {
        lines.push(format!("  {}", pick(lang, NO_MEASURES)));
    }
    for m in &f.measures {
        lines.push(format!("  - {}", one_line(m)));
    }
    lines.push(format!(
        "{}: {}",
        pick(lang, CAUSE),
        f.cause
            .as_deref()
            .map_or_else(|| pick(lang, NOT_ESTABLISHED).to_owned(), one_line)
    ));
    lines.push(pick(lang, TIME_NOTE).to_owned());
    let mut body = lines.join("\n");
    body.push('\n');
    Notice { subject, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(title: &str) -> NoticeFacts {
        NoticeFacts {
            organization: "Akimat".into(),
            sector: None,
            incident: "4f2c".into(),
            title: title.into(),
            category: Category::PasswordAttack,
            level: Criticality::new(3).unwrap(),
            status: Status::Confirmed,
            detected: "2026-12-04T06:00:00Z".parse().unwrap(),
            confirmed: Some("2026-12-04T06:10:00Z".parse().unwrap()),
            facilities: vec![],
            personal_data: true,
        }
    }

    #[test]
    fn a_title_cannot_add_lines_to_the_subject() {
        let n = render_notice(
            NoticeKind::IncidentConfirmed,
            &facts("a\r\nBcc: x@y"),
            Lang::En,
        );
        assert!(!n.subject.contains(['\r', '\n']), "{}", n.subject);
        assert!(n.body.contains("Description: a  Bcc: x@y\n"), "{}", n.body);
    }

    #[test]
    fn kinds_round_trip_by_name() {
        let kind = NoticeKind::IncidentConfirmed;
        assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        assert_eq!(NoticeKind::parse("other"), None);
    }
}
