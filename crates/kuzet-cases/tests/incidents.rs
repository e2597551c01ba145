//! The incident workflow, the criticality rubric and response plans, from the regulation's rules.
#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use kuzet_cases::{
    BusinessCalendar, Category, Criticality, Facts, Incident, Obligation, ResponsePlan, Rubric,
    Status, TaskKind, due,
};
use kuzet_model::{TenantId, UserId};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn analyst() -> UserId {
    UserId::new("aigerim").unwrap()
}

fn incident(level: u8, category: Category) -> Incident {
    Incident::new(
        TenantId::new("akimat").unwrap(),
        "password guessing on the portal".into(),
        category,
        Criticality::new(level).unwrap(),
        t("2026-12-04T04:00:00Z"),
    )
}

#[test]
fn the_workflow_walks_the_graph_and_refuses_shortcuts() {
    let mut i = incident(2, Category::PasswordAttack);
    let err = i
        .transition(Status::Closed, &analyst(), t("2026-12-04T04:10:00Z"), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "incident: cannot go from detected to closed (next: confirmed, false_positive)"
    );
    let obligations = i
        .transition(
            Status::Confirmed,
            &analyst(),
            t("2026-12-04T04:10:00Z"),
            None,
        )
        .unwrap();
    assert_eq!(
        obligations,
        vec![
            Obligation::OwnerNotification {
                fact: t("2026-12-04T04:10:00Z")
            },
            Obligation::NccisReport {
                confirmed: t("2026-12-04T04:10:00Z")
            },
        ]
    );
    let back_in_time = i
        .transition(
            Status::Contained,
            &analyst(),
            t("2026-12-04T04:00:00Z"),
            None,
        )
        .unwrap_err();
    assert!(
        back_in_time
            .to_string()
            .contains("before the previous step"),
        "{back_in_time}"
    );
    for (status, at) in [
        (Status::Contained, "2026-12-04T05:00:00Z"),
        (Status::Eradicated, "2026-12-04T08:00:00Z"),
        (Status::Recovered, "2026-12-05T08:00:00Z"),
        (Status::Closed, "2026-12-07T08:00:00Z"),
    ] {
        assert!(
            i.transition(status, &analyst(), t(at), None)
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(i.transitions.len(), 5);
    assert_eq!(i.transitions[0].from, Status::Detected);
    assert!(i.transitions.iter().all(|tr| tr.actor == analyst()));
    assert!(Status::Closed.next().is_empty());
    assert_eq!(i.confirmed(), Some(t("2026-12-04T04:10:00Z")));
}

#[test]
fn a_false_positive_needs_a_reason_and_can_be_reopened() {
    let mut i = incident(1, Category::Scanning);
    assert!(
        i.transition(
            Status::FalsePositive,
            &analyst(),
            t("2026-12-04T04:05:00Z"),
            None
        )
        .is_err()
    );
    let reason = Some("the vulnerability scanner of the ISOC itself".to_string());
    assert!(
        i.transition(
            Status::FalsePositive,
            &analyst(),
            t("2026-12-04T04:05:00Z"),
            reason
        )
        .unwrap()
        .is_empty()
    );
    i.transition(
        Status::Detected,
        &analyst(),
        t("2026-12-04T06:00:00Z"),
        None,
    )
    .unwrap();
    // Confirmed after reopening: the clocks start now.
    let obligations = i
        .transition(
            Status::Confirmed,
            &analyst(),
            t("2026-12-04T06:30:00Z"),
            None,
        )
        .unwrap();
    assert!(obligations.contains(&Obligation::NccisReport {
        confirmed: t("2026-12-04T06:30:00Z")
    }));
}

#[test]
fn a_personal_data_breach_starts_the_authoritys_clock_from_its_detection() {
    let calendar = BusinessCalendar::embedded().unwrap();
    // Found before confirmation: the notice comes with the confirmation, counted from the finding.
    let mut i = incident(3, Category::DataLeak);
    assert!(i.mark_personal_data(t("2026-12-04T04:30:00Z")).is_empty());
    let obligations = i
        .transition(
            Status::Confirmed,
            &analyst(),
            t("2026-12-04T05:00:00Z"),
            None,
        )
        .unwrap();
    let notice = obligations
        .iter()
        .find(|o| matches!(o, Obligation::PersonalDataNotice { .. }))
        .copied()
        .unwrap();
    assert_eq!(
        notice,
        Obligation::PersonalDataNotice {
            detected: t("2026-12-04T04:30:00Z")
        }
    );
    // Friday 09:30 in Astana → Monday 09:30.
    assert_eq!(due(notice, &calendar).unwrap(), t("2026-12-07T04:30:00Z"));
    // Found after confirmation: the obligation comes at once; a second marking changes nothing.
    let mut j = incident(2, Category::UnauthorizedAccess);
    j.transition(
        Status::Confirmed,
        &analyst(),
        t("2026-12-04T05:00:00Z"),
        None,
    )
    .unwrap();
    assert_eq!(
        j.mark_personal_data(t("2026-12-04T09:00:00Z")),
        vec![Obligation::PersonalDataNotice {
            detected: t("2026-12-04T09:00:00Z")
        }]
    );
    assert!(j.mark_personal_data(t("2026-12-04T10:00:00Z")).is_empty());
    // Never before the incident itself was detected.
    let mut k = incident(2, Category::DataLeak);
    k.mark_personal_data(t("2026-12-01T00:00:00Z"));
    assert_eq!(k.personal_data, Some(t("2026-12-04T04:00:00Z")));
}

fn facts() -> Facts {
    Facts {
        functional_impact: "none".into(),
        information_impact: "none".into(),
        recoverability: "regular".into(),
        scope: "one_facility".into(),
        facility_class: 3,
        critical_infrastructure: false,
        stage: "attempt".into(),
        threat_to_life: false,
        unsubstantiated: false,
    }
}

#[test]
fn the_default_rubric_scores_and_explains() {
    let rubric = Rubric::default_rubric().unwrap();
    let level = |f: &Facts| rubric.assess(f).unwrap().level.value();
    let mut f = facts();
    assert_eq!(level(&f), 0, "nothing happened");
    f.stage = "ongoing".into();
    assert_eq!(level(&f), 1);
    // Password guessing that succeeded on a class 1 critical facility, personal data exposed.
    f = Facts {
        stage: "succeeded".into(),
        information_impact: "personal".into(),
        facility_class: 1,
        critical_infrastructure: true,
        ..facts()
    };
    let assessment = rubric.assess(&f).unwrap();
    assert_eq!((assessment.score, assessment.level.value()), (12, 3));
    assert!(
        assessment
            .explanation
            .contains("critical_infrastructure=yes (+3)"),
        "{}",
        assessment.explanation
    );
    assert!(assessment.explanation.contains("rubric v1"));
    // Lost service across organizations, not recoverable: emergency by score.
    f = Facts {
        functional_impact: "high".into(),
        recoverability: "not_recoverable".into(),
        scope: "several_organizations".into(),
        stage: "succeeded".into(),
        information_impact: "restricted".into(),
        ..facts()
    };
    assert_eq!(level(&f), 5);
    f.unsubstantiated = true;
    assert_eq!(level(&f), 0, "unsubstantiated decides alone");
    let mut g = facts();
    g.threat_to_life = true;
    assert_eq!(level(&g), 5, "a threat to lives decides alone");
    g.stage = "sideways".into();
    let err = rubric.assess(&g).unwrap_err();
    assert_eq!(
        err.to_string(),
        "incident: stage `sideways`: unknown (one of attempt, ongoing, succeeded)"
    );
    let bad = kuzet_cases::DEFAULT_RUBRIC.replace(
        "thresholds = [1, 6, 12, 18, 24]",
        "thresholds = [1, 6, 6, 18, 24]",
    );
    let err = Rubric::parse("mine.toml", &bad).unwrap_err();
    assert!(
        err.to_string().starts_with("rubric mine.toml: thresholds"),
        "{err}"
    );
}

#[test]
fn an_override_keeps_the_assessed_level_and_needs_a_reason() {
    let mut i = incident(2, Category::Malware);
    assert!(
        i.override_level(Criticality::new(4).unwrap(), " ", &analyst())
            .is_err()
    );
    i.override_level(
        Criticality::new(4).unwrap(),
        "ransomware note found on the domain controller",
        &analyst(),
    )
    .unwrap();
    assert_eq!(i.level.level().value(), 4);
    assert_eq!(i.level.assessed.value(), 2);
    assert!(i.escalates());
    assert!(Criticality::new(6).is_err());
    assert_eq!(Criticality::new(5).unwrap().name(), "emergency");
}

#[test]
fn plans_hold_the_eleven_measures_and_escalate_levels_three_to_five() {
    let plan = ResponsePlan::default_plan().unwrap();
    let confirmed = t("2026-12-04T05:00:00Z");
    let low = plan
        .instantiate(&incident(2, Category::PasswordAttack), confirmed)
        .unwrap();
    let measures: Vec<u8> = low
        .iter()
        .filter_map(|task| match task.kind {
            TaskKind::Measure(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(measures, (1..=11).collect::<Vec<u8>>());
    assert!(!low.iter().any(|task| task.kind == TaskKind::Escalation));
    let guessing = low
        .iter()
        .find(|task| task.kind == TaskKind::Category)
        .unwrap();
    assert!(guessing.title.ru.contains("Заблокировать"));
    assert_eq!(guessing.due, confirmed + SignedDuration::from_hours(1));
    let nccis = low
        .iter()
        .find(|task| task.kind == TaskKind::Measure(3))
        .unwrap();
    assert_eq!(
        nccis.due,
        confirmed + SignedDuration::from_mins(15),
        "the NCCIS measure is due with the report"
    );
    let traces = low
        .iter()
        .find(|task| task.kind == TaskKind::Measure(7))
        .unwrap();
    assert!(traces.title.kk.contains("цифрлық іздерін"));
    let high = plan
        .instantiate(&incident(4, Category::Malware), confirmed)
        .unwrap();
    assert_eq!(
        high.iter()
            .filter(|task| task.kind == TaskKind::Escalation)
            .count(),
        1
    );
    assert!(
        high.iter()
            .any(|task| task.kind == TaskKind::Category && task.title.en.contains("Isolate"))
    );
    assert!(
        !high
            .iter()
            .any(|task| task.title.en.contains("Block the attacking"))
    );
    assert!(high.iter().all(|task| matches!(
        task.owner.as_str(),
        "analyst" | "tenant-owner" | "isoc-admin"
    )));
}

#[test]
fn a_plan_missing_a_mandatory_measure_is_refused() {
    let without_traces = kuzet_cases::DEFAULT_PLAN.replacen("number = 7\n", "number = 3\n", 1);
    let err = ResponsePlan::parse("mine.toml", &without_traces).unwrap_err();
    assert!(
        err.to_string()
            .contains("measure 3: not 1–11, or listed twice"),
        "{err}"
    );
    let start = kuzet_cases::DEFAULT_PLAN
        .find("[[measure]]\nnumber = 7")
        .unwrap();
    let end = kuzet_cases::DEFAULT_PLAN[start + 1..]
        .find("[[measure]]")
        .unwrap()
        + start
        + 1;
    let dropped = format!(
        "{}{}",
        &kuzet_cases::DEFAULT_PLAN[..start],
        &kuzet_cases::DEFAULT_PLAN[end..]
    );
    let err = ResponsePlan::parse("mine.toml", &dropped).unwrap_err();
    assert_eq!(
        err.to_string(),
        "response plan mine.toml: misses mandatory measure 7 (R12 requires all eleven)"
    );
    let no_kazakh = kuzet_cases::DEFAULT_PLAN.replacen(
        "kk = \"Дағдарыстық жағдайдың алдын алу\"",
        "kk = \"\"",
        1,
    );
    assert!(
        ResponsePlan::parse("mine.toml", &no_kazakh)
            .unwrap_err()
            .to_string()
            .contains("en, ru and kk")
    );
    let odd_owner =
        kuzet_cases::DEFAULT_PLAN.replacen("owner = \"analyst\"", "owner = \"intern\"", 1);
    assert!(
        ResponsePlan::parse("mine.toml", &odd_owner)
            .unwrap_err()
            .to_string()
            .contains("owner `intern`")
    );
}
