//! An incident's workflow: the status graph, each transition with its time and actor, and the obligations a
//! transition creates (confirmation starts the owner and NCCIS clocks; a personal-data breach starts the authority's).

use jiff::Timestamp;
use kuzet_model::{Criticality, FacilityId, TenantId, UserId};

use crate::{CasesError, Obligation};

/// The reference taxonomy, ENISA-style, each mapped to the category KZ-CERT reports use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    DenialOfService,
    UnauthorizedAccess,
    Malware,
    Spam,
    Scanning,
    PasswordAttack,
    ProtectionBypass,
    DataLeak,
    Fraud,
    Other,
}

impl Category {
    pub const ALL: &'static [Category] = &[
        Category::DenialOfService,
        Category::UnauthorizedAccess,
        Category::Malware,
        Category::Spam,
        Category::Scanning,
        Category::PasswordAttack,
        Category::ProtectionBypass,
        Category::DataLeak,
        Category::Fraud,
        Category::Other,
    ];

    /// The stable name (configuration, API, NCCIS messages).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::DenialOfService => "availability.dos",
            Category::UnauthorizedAccess => "intrusion.unauthorized-access",
            Category::Malware => "malicious-code",
            Category::Spam => "abusive-content.spam",
            Category::Scanning => "information-gathering.scanning",
            Category::PasswordAttack => "intrusion-attempts.password-guessing",
            Category::ProtectionBypass => "intrusion.protection-bypass",
            Category::DataLeak => "information-content-security.leak",
            Category::Fraud => "fraud",
            Category::Other => "other",
        }
    }

    /// The category as KZ-CERT names it in its reports (Russian).
    pub fn kz_cert(self) -> &'static str {
        match self {
            Category::DenialOfService => "DoS/DDoS-атака",
            Category::UnauthorizedAccess => "Несанкционированный доступ",
            Category::Malware => "Вредоносное программное обеспечение",
            Category::Spam => "Спам",
            Category::Scanning => "Сканирование",
            Category::PasswordAttack => "Подбор или кража паролей",
            Category::ProtectionBypass => "Взлом средств защиты",
            Category::DataLeak => "Утечка информации",
            Category::Fraud => "Мошенничество",
            Category::Other => "Прочее",
        }
    }

    pub fn parse(name: &str) -> Result<Self, CasesError> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
                CasesError::Incident(format!(
                    "category `{name}`: unknown; one of {}",
                    known.join(", ")
                ))
            })
    }
}

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Detected,
    Confirmed,
    FalsePositive,
    Contained,
    Eradicated,
    Recovered,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Detected => "detected",
            Status::Confirmed => "confirmed",
            Status::FalsePositive => "false_positive",
            Status::Contained => "contained",
            Status::Eradicated => "eradicated",
            Status::Recovered => "recovered",
            Status::Closed => "closed",
        }
    }

    pub const ALL: &'static [Status] = &[
        Status::Detected,
        Status::Confirmed,
        Status::FalsePositive,
        Status::Contained,
        Status::Eradicated,
        Status::Recovered,
        Status::Closed,
    ];

    pub fn parse(name: &str) -> Result<Self, CasesError> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| CasesError::Incident(format!("status `{name}`: unknown")))
    }

    /// The statuses reachable in one step.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Detected => &[Status::Confirmed, Status::FalsePositive],
            Status::Confirmed => &[Status::Contained],
            Status::Contained => &[Status::Eradicated],
            Status::Eradicated => &[Status::Recovered],
            Status::Recovered => &[Status::Closed],
            Status::FalsePositive => &[Status::Closed, Status::Detected],
            Status::Closed => &[],
        }
    }
}

/// One status change: who, when, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Status,
    pub to: Status,
    pub at: Timestamp,
    pub actor: UserId,
    pub reason: Option<String>,
}

/// The criticality of an incident: the rubric's level, or an analyst's override with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelDecision {
    pub assessed: Criticality,
    pub overridden: Option<(Criticality, String, UserId)>,
    /// The rubric's version and explanation of the assessed level, when it was assessed by one.
    pub assessment: Option<(u32, String)>,
}

impl LevelDecision {
    pub fn level(&self) -> Criticality {
        self.overridden
            .as_ref()
            .map_or(self.assessed, |(level, ..)| *level)
    }
}

/// An incident's state (the pure part; persistence keeps it with its id, alerts, timeline and evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub tenant: TenantId,
    pub facilities: Vec<FacilityId>,
    pub title: String,
    pub category: Category,
    pub level: LevelDecision,
    /// When a personal-data breach was found in this incident, if one was (R22).
    pub personal_data: Option<Timestamp>,
    pub detected: Timestamp,
    pub status: Status,
    pub transitions: Vec<Transition>,
}

impl Incident {
    pub fn new(
        tenant: TenantId,
        title: String,
        category: Category,
        assessed: Criticality,
        detected: Timestamp,
    ) -> Self {
        Self {
            tenant,
            facilities: Vec::new(),
            title,
            category,
            level: LevelDecision {
                assessed,
                overridden: None,
                assessment: None,
            },
            personal_data: None,
            detected,
            status: Status::Detected,
            transitions: Vec::new(),
        }
    }

    /// When the incident was confirmed, if it was.
    pub fn confirmed(&self) -> Option<Timestamp> {
        self.transitions
            .iter()
            .find(|t| t.to == Status::Confirmed)
            .map(|t| t.at)
    }

    /// Moves to `to` if the graph allows it, recording who and when; returns the obligations the step creates.
    /// A false positive needs a reason; time never runs backwards.
    pub fn transition(
        &mut self,
        to: Status,
        actor: &UserId,
        at: Timestamp,
        reason: Option<String>,
    ) -> Result<Vec<Obligation>, CasesError> {
        if !self.status.next().contains(&to) {
            let allowed: Vec<_> = self.status.next().iter().map(|s| s.as_str()).collect();
            return Err(CasesError::Incident(format!(
                "cannot go from {} to {} (next: {})",
                self.status.as_str(),
                to.as_str(),
                if allowed.is_empty() {
                    "none".into()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        let last = self.transitions.last().map_or(self.detected, |t| t.at);
        if at < last {
            return Err(CasesError::Incident(format!(
                "transition to {} at {at} is before the previous step at {last}",
                to.as_str()
            )));
        }
        if to == Status::FalsePositive && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(CasesError::Incident(
                "a false positive needs a reason".into(),
            ));
        }
        let first_confirmation = to == Status::Confirmed && self.confirmed().is_none();
        self.transitions.push(Transition {
            from: self.status,
            to,
            at,
            actor: actor.clone(),
            reason,
        });
        self.status = to;
        let mut obligations = Vec::new();
        if first_confirmation {
            // R15: the owner at once; R16: NCCIS within 15 minutes of confirmation.
            obligations.push(Obligation::OwnerNotification { fact: at });
            obligations.push(Obligation::NccisReport { confirmed: at });
            if let Some(found) = self.personal_data {
                obligations.push(Obligation::PersonalDataNotice { detected: found });
            }
        }
        Ok(obligations)
    }

    /// Marks the incident as a personal-data breach found at `found` (never before the incident was detected). The
    /// authority's clock runs from that detection (R22); the obligation is created with the confirmation, or now
    /// when the incident is confirmed already. Marking twice keeps the first finding.
    pub fn mark_personal_data(&mut self, found: Timestamp) -> Vec<Obligation> {
        if self.personal_data.is_some() {
            return Vec::new();
        }
        let found = found.max(self.detected);
        self.personal_data = Some(found);
        match self.confirmed() {
            Some(_) => vec![Obligation::PersonalDataNotice { detected: found }],
            None => Vec::new(),
        }
    }

    /// An analyst's level instead of the rubric's, with a reason (kept beside the assessed level).
    pub fn override_level(
        &mut self,
        level: Criticality,
        reason: &str,
        actor: &UserId,
    ) -> Result<(), CasesError> {
        if reason.trim().is_empty() {
            return Err(CasesError::Incident(
                "a level override needs a reason".into(),
            ));
        }
        self.level.overridden = Some((level, reason.to_owned(), actor.clone()));
        Ok(())
    }

    /// Levels 3–5 go on from NCCIS to the national security bodies (R11).
    pub fn escalates(&self) -> bool {
        self.level.level().escalates()
    }
}
