//! Golden tests of the quarterly incident report in Kazakh, Russian and English, CSV and HTML. Expectations live in
//! `test_data/report/`; regenerate them with `UPDATE_GOLDEN=1 cargo test -p kuzet-cases --test report` and read
//! the diff before committing.
#![allow(clippy::unwrap_used)]

use kuzet_cases::{
    Category, Criticality, IncidentReport, Lang, Quarter, ReportKind, ReportRow, ResponsePlan,
    Status,
};

fn report(lang: Lang) -> IncidentReport {
    let plan = ResponsePlan::default_plan().unwrap();
    let incident = kuzet_cases::Incident::new(
        kuzet_model::TenantId::new("akimat").unwrap(),
        "x".into(),
        Category::PasswordAttack,
        Criticality::new(2).unwrap(),
        "2026-10-05T04:00:00Z".parse().unwrap(),
    );
    let tasks = plan
        .instantiate(&incident, "2026-10-05T04:10:00Z".parse().unwrap())
        .unwrap();
    let title = |n: usize| {
        let t = &tasks[n].title;
        match lang {
            Lang::En => t.en.clone(),
            Lang::Ru => t.ru.clone(),
            Lang::Kk => t.kk.clone(),
        }
    };
    IncidentReport {
        kind: ReportKind::Quarterly(Quarter::new(2026, 4).unwrap()),
        tenant: "akimat".into(),
        tenant_name: "Akimat of Astana".into(),
        generated: "2027-01-05T06:00:00Z".parse().unwrap(),
        rows: vec![
            ReportRow {
                incident: "4f2c0000000000000000000000000001".into(),
                title: "Password guessing on the \"e-Akimat\" portal <sshd>".into(),
                category: Category::PasswordAttack,
                level: Criticality::new(2).unwrap(),
                status: Status::Closed,
                detected: "2026-10-05T04:00:00Z".parse().unwrap(),
                confirmed: Some("2026-10-05T04:10:00Z".parse().unwrap()),
                personal_data: false,
                measures: vec![title(6), title(10)],
            },
            ReportRow {
                incident: "4f2c0000000000000000000000000002".into(),
                title: "Leak of applicants' data".into(),
                category: Category::DataLeak,
                level: Criticality::new(4).unwrap(),
                status: Status::Contained,
                detected: "2026-12-30T19:30:00Z".parse().unwrap(),
                confirmed: None,
                personal_data: true,
                measures: vec![],
            },
        ],
    }
}

fn check(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/report")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{}: missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, expected, "{name} differs from its golden file");
}

#[test]
fn quarterly_report_in_three_languages() {
    for lang in [Lang::Kk, Lang::Ru, Lang::En] {
        let report = report(lang);
        check(
            &format!("quarterly.{}.csv", lang.code()),
            &report.to_csv(lang),
        );
        check(
            &format!("quarterly.{}.html", lang.code()),
            &report.to_html(lang),
        );
        check(
            &format!("quarterly.{}.xml", lang.code()),
            &report.to_xml(lang),
        );
    }
}

#[test]
fn consolidated_report_in_three_languages() {
    for lang in [Lang::Kk, Lang::Ru, Lang::En] {
        let akimat = report(lang);
        let mut bank = report(lang);
        bank.tenant = "bank".into();
        bank.tenant_name = "Bank & Co".into();
        bank.rows.truncate(1);
        bank.rows[0].incident = "4f2c0000000000000000000000000003".into();
        let mut quiet = report(lang);
        quiet.tenant = "energo".into();
        quiet.tenant_name = "Energo".into();
        quiet.rows.clear();
        let consolidated = kuzet_cases::ConsolidatedReport {
            quarter: Quarter::new(2026, 4).unwrap(),
            generated: "2027-01-05T06:00:00Z".parse().unwrap(),
            parts: vec![akimat, bank, quiet],
        };
        for (ext, text) in [
            ("csv", consolidated.to_csv(lang)),
            ("html", consolidated.to_html(lang)),
            ("xml", consolidated.to_xml(lang)),
        ] {
            check(&format!("consolidated.{}.{ext}", lang.code()), &text);
        }
        let csv = consolidated.to_csv(lang);
        assert_eq!(
            csv.lines().count(),
            1 + 3,
            "a header and every organization's incidents"
        );
        let html = consolidated.to_html(lang);
        assert!(html.contains("Bank &amp; Co"), "escaped");
    }
}

#[test]
fn incident_journal_in_three_languages() {
    for lang in [Lang::Kk, Lang::Ru, Lang::En] {
        let mut journal = report(lang);
        journal.kind = ReportKind::Journal {
            from: "2025-12-31T19:00:00Z".parse().unwrap(),
            to: "2027-01-05T06:00:00Z".parse().unwrap(),
        };
        check(
            &format!("journal.{}.html", lang.code()),
            &journal.to_html(lang),
        );
    }
}

#[test]
fn the_report_escapes_and_says_when_nothing_happened() {
    let html = report(Lang::En).to_html(Lang::En);
    assert!(html.contains("&quot;e-Akimat&quot; portal &lt;sshd&gt;"));
    assert!(!html.contains("<sshd>") && !html.contains("<script"));
    let csv = report(Lang::Ru).to_csv(Lang::Ru);
    assert!(csv.contains("\"Password guessing on the \"\"e-Akimat\"\" portal <sshd>\""));
    let mut empty = report(Lang::Kk);
    empty.rows.clear();
    assert!(
        empty
            .to_html(Lang::Kk)
            .contains("Кезеңде инциденттер болған жоқ.")
    );
    assert_eq!(empty.to_csv(Lang::Kk).lines().count(), 1, "the header only");
    // Detected 30 December 19:30 UTC is 31 December 00:30 in Astana.
    assert!(
        report(Lang::En)
            .to_csv(Lang::En)
            .contains("2026-12-31 00:30")
    );
    assert_eq!(Lang::parse("kk"), Some(Lang::Kk));
    assert_eq!(Lang::parse("de"), None);
}

#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_neutralized() {
    let mut hostile = report(Lang::En);
    for (row, title) in hostile
        .rows
        .iter_mut()
        .zip(["=HYPERLINK(\"http://x\",\"click\")", "@SUM(A1)"])
    {
        row.title = title.into();
    }
    let csv = hostile.to_csv(Lang::En);
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\""),
        "{csv}"
    );
    assert!(csv.contains("\"'@SUM(A1)\""), "{csv}");
    for line in csv.lines() {
        for cell in line.split("\",\"") {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a cell begins with a formula sign: {cell}"
            );
        }
    }
}

#[test]
fn confirmed_incident_notice_in_three_languages() {
    let facts = kuzet_cases::NoticeFacts {
        organization: "Akimat of Astana".into(),
        sector: Some(kuzet_model::Sector::Government),
        incident: "4f2c0000000000000000000000000001".into(),
        title: "Password guessing on the \"e-Akimat\" portal <sshd>".into(),
        category: Category::PasswordAttack,
        level: Criticality::new(3).unwrap(),
        status: Status::Confirmed,
        detected: "2026-12-04T06:00:00Z".parse().unwrap(),
        confirmed: Some("2026-12-04T06:10:00Z".parse().unwrap()),
        facilities: vec!["portal".into(), "dc-1".into()],
        personal_data: false,
    };
    for lang in [Lang::Kk, Lang::Ru, Lang::En] {
        let notice =
            kuzet_cases::render_notice(kuzet_cases::NoticeKind::IncidentConfirmed, &facts, lang);
        check(
            &format!("notice.confirmed.{}.txt", lang.code()),
            &format!("Subject: {}\n\n{}", notice.subject, notice.body),
        );
    }
}

#[test]
fn monthly_metrics_in_three_languages() {
    let at = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
    let rows = [
        kuzet_cases::MetricsRow {
            category: Category::PasswordAttack,
            level: Criticality::new(2).unwrap(),
            detected: at("2026-11-10T06:00:00Z"),
            began: Some(at("2026-11-10T05:12:00Z")),
            transitions: vec![
                (Status::Confirmed, at("2026-11-10T06:09:00Z")),
                (Status::Contained, at("2026-11-10T07:30:00Z")),
                (Status::Eradicated, at("2026-11-10T09:00:00Z")),
                (Status::Recovered, at("2026-11-10T11:00:00Z")),
                (Status::Closed, at("2026-11-12T06:00:00Z")),
            ],
        },
        kuzet_cases::MetricsRow {
            category: Category::Malware,
            level: Criticality::new(3).unwrap(),
            detected: at("2026-11-20T10:00:00Z"),
            began: None,
            transitions: vec![(Status::Confirmed, at("2026-11-20T10:04:00Z"))],
        },
    ];
    for lang in [Lang::Kk, Lang::Ru, Lang::En] {
        let report = kuzet_cases::MetricsReport::build(
            "akimat".into(),
            "Akimat of Astana".into(),
            (2026, 11),
            at("2026-12-01T04:00:00Z"),
            &rows,
        );
        check(
            &format!("metrics.{}.csv", lang.code()),
            &report.to_csv(lang),
        );
        check(
            &format!("metrics.{}.html", lang.code()),
            &report.to_html(lang),
        );
    }
}

#[test]
fn personal_data_breach_notice_in_three_languages() {
    let facts = kuzet_cases::BreachFacts {
        organization: "Akimat of Astana".into(),
        incident: "4f2c0000000000000000000000000002".into(),
        title: "Leak of applicants' data".into(),
        category: Category::DataLeak,
        detected: "2026-12-04T06:00:00Z".parse().unwrap(),
        found: "2026-12-04T07:30:00Z".parse().unwrap(),
        responsible: vec![("Dana Seitkali".into(), "dpo@akimat.kz".into())],
        affected:
            "IIN 900101300123\nIIN 850505400456\n(about 1,200 applicants of the e-Akimat portal)"
                .into(),
        measures: vec!["Access to the applicants' database closed".into()],
        cause: None,
    };
    for lang in [Lang::Kk, Lang::Ru, Lang::En] {
        let notice = kuzet_cases::render_breach_notice(&facts, lang);
        check(
            &format!("notice.breach.{}.txt", lang.code()),
            &format!("Subject: {}\n\n{}", notice.subject, notice.body),
        );
    }
}
