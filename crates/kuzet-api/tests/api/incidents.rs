//! An incident through the API: opened with its facts (level from the rubric), confirmed (the owner, NCCIS and
//! personal-data clocks start, the plan's tasks appear), worked, and its clocks shown due soon and overdue as time
//! passes — time moved by the test, never slept.

use axum::http::Method;
use jiff::SignedDuration;
use serde_json::json;

use crate::harness::{Harness, OTHER, OWN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_confirm_work_and_watch_the_clocks() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let path = format!("/api/v1/tenants/{OWN}/incidents");
    let facts = json!({"functional_impact": "medium", "information_impact": "personal", "recoverability": "supplemented",
                       "scope": "one_facility", "facility_class": 1, "critical_infrastructure": true, "stage": "succeeded"});
    let bad = h
        .call(
            Method::POST,
            &path,
            &analyst,
            Some(json!({"title": "x", "category": "nonsense", "facts": facts})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.message().contains("category `nonsense`"),
        "{}",
        bad.text
    );
    let created = h
        .call(
            Method::POST,
            &path,
            &analyst,
            Some(json!({"title": "portal accounts taken over", "category": "intrusion.unauthorized-access",
                        "facts": facts, "personal_data": true})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    // 4 + 3 + 2 + 0 + 4 + 2 + 3 = 18 → level 4.
    assert_eq!(created.json["level"], 4, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let incident = format!("{path}/{id}");

    let confirmed = h
        .call(
            Method::POST,
            &format!("{incident}/transitions"),
            &analyst,
            Some(json!({"to": "confirmed"})),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let body = &confirmed.json;
    assert_eq!(body["status"], "confirmed");
    assert_eq!(body["level"]["escalates"], true);
    let kinds: Vec<_> = body["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].clone())
        .collect();
    assert!(
        kinds.contains(&json!("nccis_report")) && kinds.contains(&json!("personal_data_notice")),
        "{kinds:?}"
    );
    let tasks = body["tasks"].as_array().unwrap();
    assert_eq!(
        tasks
            .iter()
            .filter(|t| t["kind"].as_str().unwrap().starts_with("measure-"))
            .count(),
        11
    );
    assert_eq!(
        tasks.iter().filter(|t| t["kind"] == "escalation").count(),
        1,
        "level 4 escalates"
    );
    assert!(
        tasks
            .iter()
            .all(|t| t["title"]["kk"].as_str().is_some_and(|s| !s.is_empty()))
    );
    let nccis = |body: &serde_json::Value| {
        body["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "nccis_report")
            .unwrap()
            .clone()
    };
    assert_eq!(nccis(body)["clock"]["state"], "pending");
    assert_eq!(nccis(body)["clock"]["remaining_seconds"], 900);

    // Ten minutes later the NCCIS report is due soon; after twenty it is overdue (nothing has fulfilled it).
    h.advance(SignedDuration::from_mins(11));
    let view = h.call(Method::GET, &incident, &analyst, None).await;
    assert_eq!(
        nccis(&view.json)["clock"]["state"],
        "due_soon",
        "{}",
        view.text
    );
    h.advance(SignedDuration::from_mins(9));
    let analyst = h.session("aigerim").await;
    let view = h.call(Method::GET, &incident, &analyst, None).await;
    assert_eq!(
        nccis(&view.json)["clock"]["state"],
        "overdue",
        "{}",
        view.text
    );
    let obligation = nccis(&view.json)["id"].as_str().unwrap().to_owned();
    let fulfil = format!("/api/v1/tenants/{OWN}/obligations/{obligation}/fulfil");
    let answer = h
        .call(
            Method::POST,
            &fulfil,
            &analyst,
            Some(json!({"by": "sent by phone, ref 118"})),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    let view = h.call(Method::GET, &incident, &analyst, None).await;
    assert_eq!(
        nccis(&view.json)["clock"],
        json!({"state": "done", "on_time": false})
    );
    assert_eq!(
        h.call(
            Method::POST,
            &fulfil,
            &analyst,
            Some(json!({"by": "again"}))
        )
        .await
        .status,
        404
    );
    let all = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/obligations"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    let kinds: Vec<_> = all
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].clone())
        .collect();
    assert!(
        kinds
            .iter()
            .filter(|k| **k == json!("nccis_report"))
            .count()
            >= 2,
        "{kinds:?}"
    );
    let dues: Vec<_> = all
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["due"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        dues.windows(2).all(|w| w[0] <= w[1]),
        "soonest first: {dues:?}"
    );

    // Plan tasks and the rest of the workflow; a shortcut is refused with the allowed next steps.
    assert_eq!(
        h.call(
            Method::POST,
            &format!("{incident}/tasks/6/done"),
            &analyst,
            None
        )
        .await
        .status,
        204
    );
    let shortcut = h
        .call(
            Method::POST,
            &format!("{incident}/transitions"),
            &analyst,
            Some(json!({"to": "closed"})),
        )
        .await;
    assert_eq!(shortcut.status, 422);
    assert!(
        shortcut.message().contains("next: contained"),
        "{}",
        shortcut.text
    );
    for to in ["contained", "eradicated", "recovered", "closed"] {
        let answer = h
            .call(
                Method::POST,
                &format!("{incident}/transitions"),
                &analyst,
                Some(json!({"to": to})),
            )
            .await;
        assert_eq!(answer.status, 200, "{to}: {}", answer.text);
    }
    let view = h.call(Method::GET, &incident, &analyst, None).await;
    assert_eq!(view.json["transitions"].as_array().unwrap().len(), 5);
    assert!(view.json["tasks"][6]["done"]["by"] == "aigerim");

    // Evidence: an own sealed event attaches (once); another tenant's event is "not found"; viewing is custody.
    let evidence = format!("{incident}/evidence");
    let own_event = h.events[OWN].to_string();
    let attach = json!({"event": own_event, "reason": "the first failed login"});
    assert_eq!(
        h.call(Method::POST, &evidence, &analyst, Some(attach.clone()))
            .await
            .status,
        201
    );
    assert_eq!(
        h.call(Method::POST, &evidence, &analyst, Some(attach))
            .await
            .status,
        409
    );
    let foreign = json!({"event": h.events[OTHER].to_string(), "reason": "x"});
    let answer = h
        .call(Method::POST, &evidence, &analyst, Some(foreign))
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    let view = h.call(Method::GET, &evidence, &analyst, None).await;
    assert_eq!(
        view.json["items"][0]["event_id"],
        json!(own_event),
        "{}",
        view.text
    );
    let actions: Vec<_> = view.json["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].clone())
        .collect();
    // Listing what is kept is not an access; reading the kept event is, in its incident's custody.
    assert_eq!(actions, [json!("collected")]);
    let read = h
        .call(
            Method::GET,
            &format!("/api/v1/events/{own_event}"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    let view = h.call(Method::GET, &evidence, &analyst, None).await;
    let custody = view.json["custody"].as_array().unwrap();
    assert_eq!(
        (
            custody.len(),
            custody[1]["action"].as_str(),
            custody[1]["actor"].as_str()
        ),
        (2, Some("accessed"), Some("aigerim"))
    );

    // The quarterly report of this quarter, in Kazakh and as CSV in Russian; the owner may read it.
    let report = format!("/api/v1/tenants/{OWN}/reports/quarterly?year=2026&quarter=4");
    let html = h.call(Method::GET, &report, &analyst, None).await;
    assert_eq!(html.status, 200, "{}", html.text);
    assert!(
        html.text.contains("<html lang=\"kk\">")
            && html.text.contains("portal accounts taken over")
    );
    assert!(html.text.contains("2026 жылғы IV тоқсан"), "{}", html.text);
    let owner = h.session("owner").await;
    let csv = h
        .call(
            Method::GET,
            &format!("{report}&lang=ru&format=csv"),
            &owner,
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(
        csv.text.starts_with("\"Инцидент\",\"Обнаружен\""),
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains("Несанкционированный доступ") && csv.text.contains("закрыт"),
        "{}",
        csv.text
    );
    // The same report for machines: XML with codes beside the labels, and JSON.
    let xml = h
        .call(
            Method::GET,
            &format!("{report}&lang=ru&format=xml"),
            &owner,
            None,
        )
        .await;
    assert_eq!(xml.status, 200, "{}", xml.text);
    assert!(
        xml.text.contains(
            "<incident-report xmlns=\"urn:kuzet:report:1\" kind=\"quarterly\" lang=\"ru\">"
        ) && xml.text.contains("<status code=\"closed\">закрыт</status>"),
        "{}",
        xml.text
    );
    let as_json = h
        .call(Method::GET, &format!("{report}&format=json"), &owner, None)
        .await;
    assert_eq!(as_json.status, 200, "{}", as_json.text);
    assert_eq!(
        as_json.json["kind"]["quarterly"]["quarter"], 4,
        "{}",
        as_json.text
    );
    // Two incidents detected in one instant are ordered by their random ids: find this one by its title.
    let first = as_json.json["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "portal accounts taken over")
        .unwrap();
    assert_eq!(
        first["category"], "intrusion.unauthorized-access",
        "{}",
        as_json.text
    );
    assert_eq!(first["status"], "closed", "{}", as_json.text);
    let journal = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/reports/journal?lang=ru"),
            &owner,
            None,
        )
        .await;
    assert_eq!(journal.status, 200, "{}", journal.text);
    assert!(
        journal.text.contains("Журнал учёта инцидентов")
            && journal.text.contains("portal accounts taken over")
    );
    let bad = h
        .call(Method::GET, &format!("{report}&lang=de"), &analyst, None)
        .await;
    assert!(bad.message().contains("lang `de`"), "{}", bad.text);

    // The facility owner reads its incidents but cannot work them; another tenant's analyst sees none of them.
    let owner = h.session("owner").await;
    assert_eq!(
        h.call(Method::GET, &incident, &owner, None).await.status,
        200
    );
    let refused = h
        .call(
            Method::POST,
            &format!("{incident}/transitions"),
            &owner,
            Some(json!({"to": "closed"})),
        )
        .await;
    assert_eq!(refused.status, 403);
    let banker = h.session("banker").await;
    assert_eq!(
        h.call(Method::GET, &incident, &banker, None).await.status,
        404
    );
    let own_id = &h.incidents[OWN].0;
    let guessed = format!("/api/v1/tenants/{OTHER}/incidents/{own_id}");
    assert_eq!(
        h.call(Method::GET, &guessed, &banker, None).await.status,
        404,
        "an id of another tenant's incident"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_incidents_are_refused_when_they_arrive_with_what_is_accepted() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let path = format!("/api/v1/tenants/{OWN}/incidents");
    let facts = json!({"functional_impact": "low", "information_impact": "none", "recoverability": "regular",
                       "scope": "one_facility", "facility_class": 2, "stage": "ongoing"});
    let open = |body: serde_json::Value| h.call(Method::POST, &path, &analyst, Some(body));
    let with = |title: &str, detected: Option<String>, category: &str| {
        let mut body =
            json!({"title": title, "category": category, "facts": facts, "personal_data": true});
        if let Some(detected) = detected {
            body["detected"] = json!(detected);
        }
        body
    };
    // Outside the business calendar: the clocks could never run.
    for detected in ["1990-06-01T00:00:00Z", "0001-01-01T00:00:00Z"] {
        let answer = open(with("old", Some(detected.into()), "malicious-code")).await;
        assert_eq!(answer.status, 422, "{detected}: {}", answer.text);
        assert!(
            answer
                .message()
                .contains("outside the business calendar's years (2024–2027)"),
            "{}",
            answer.text
        );
    }
    // In the future: refused, not silently set to now.
    let future = (h.now() + SignedDuration::from_hours(2)).to_string();
    let answer = open(with("later", Some(future), "malicious-code")).await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert!(
        answer.message().contains("in the future"),
        "{}",
        answer.text
    );
    // Titles: not empty, not a megabyte.
    for title in ["", "   ", &"t".repeat(301)] {
        let answer = open(with(title, None, "malicious-code")).await;
        assert_eq!(answer.status, 422, "{}", answer.text);
        assert!(answer.message().starts_with("title:"), "{}", answer.text);
    }
    // A body over the API's limit is 413, not 400.
    let answer = open(with(&"t".repeat(3 << 20), None, "malicious-code")).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    // An unknown category names the known ones.
    let answer = open(with("x", None, "nonsense")).await;
    assert_eq!(answer.status, 422);
    assert!(
        answer.message().contains("malicious-code") && answer.message().contains("one of"),
        "{}",
        answer.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rubric_scores_the_facilities_records_not_what_is_typed() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let analyst = h.session("aigerim").await;
    let facts = |class: Option<u8>| {
        let mut f = json!({"functional_impact": "medium", "information_impact": "none", "recoverability": "supplemented",
                           "scope": "one_facility", "stage": "succeeded"});
        if let Some(class) = class {
            f["facility_class"] = json!(class);
        }
        f
    };
    let path = format!("/api/v1/tenants/{OWN}/incidents");
    let open = |body: serde_json::Value| h.call(Method::POST, &path, &analyst, Some(body));
    // Before the tenant registers facilities, the typed class is all there is.
    let typed =
        open(json!({"title": "typed", "category": "malicious-code", "facts": facts(Some(3))}))
            .await;
    assert_eq!(typed.status, 201, "{}", typed.text);
    let typed_level = typed.json["level"].as_u64().unwrap();
    let answer = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/facilities"),
            &admin,
            Some(
                json!({"id": "egov-portal", "name": "e-gov portal", "class": 1, "critical": true}),
            ),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    // Now the facilities must be named, and their records decide.
    let unnamed =
        open(json!({"title": "x", "category": "malicious-code", "facts": facts(Some(3))})).await;
    assert_eq!(unnamed.status, 422);
    assert!(
        unnamed.message().contains("egov-portal"),
        "{}",
        unnamed.text
    );
    let understated = open(
        json!({"title": "x", "category": "malicious-code", "facts": facts(Some(3)),
                                  "facilities": ["egov-portal"]}),
    )
    .await;
    assert_eq!(understated.status, 422);
    assert!(
        understated.message().contains("records say class 1"),
        "{}",
        understated.text
    );
    let unknown = open(
        json!({"title": "x", "category": "malicious-code", "facts": facts(None),
                              "facilities": ["elsewhere"]}),
    )
    .await;
    assert_eq!(unknown.status, 422);
    let scored = open(
        json!({"title": "at the portal", "category": "malicious-code", "facts": facts(None),
                             "facilities": ["egov-portal"]}),
    )
    .await;
    assert_eq!(scored.status, 201, "{}", scored.text);
    assert!(
        scored.json["level"].as_u64().unwrap() > typed_level,
        "a critical class-1 facility weighs more: {} vs {typed_level}",
        scored.text
    );
    // What it was judged on stays with it.
    let view = h
        .call(
            Method::GET,
            &format!("{path}/{}", scored.json["id"].as_str().unwrap()),
            &analyst,
            None,
        )
        .await;
    assert_eq!(
        view.json["facilities"],
        json!(["egov-portal"]),
        "{}",
        view.text
    );
    assert!(
        view.json["level"]["rubric_version"].is_number(),
        "{}",
        view.text
    );
    assert!(
        view.json["level"]["explanation"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{}",
        view.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_found_later_starts_its_clock_and_a_level_override_needs_a_reason() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let path = format!("/api/v1/tenants/{OWN}/incidents");
    let facts = json!({"functional_impact": "low", "information_impact": "none", "recoverability": "regular",
                       "scope": "one_facility", "facility_class": 3, "stage": "ongoing"});
    let created = h
        .call(
            Method::POST,
            &path,
            &analyst,
            Some(json!({"title": "odd logins", "category": "malicious-code", "facts": facts})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let assessed = created.json["level"].as_u64().unwrap();
    let incident = format!("{path}/{}", created.json["id"].as_str().unwrap());
    let confirmed = h
        .call(
            Method::POST,
            &format!("{incident}/transitions"),
            &analyst,
            Some(json!({"to": "confirmed"})),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    // Personal data turns up after confirmation: the authority's clock starts now.
    let marked = h
        .call(
            Method::POST,
            &format!("{incident}/personal-data"),
            &analyst,
            Some(json!({})),
        )
        .await;
    assert_eq!(marked.status, 200, "{}", marked.text);
    assert_eq!(
        marked.json["obligations"][0]["kind"],
        "personal_data_notice"
    );
    let again = h
        .call(
            Method::POST,
            &format!("{incident}/personal-data"),
            &analyst,
            Some(json!({})),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    let obligations = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/obligations"),
            &analyst,
            None,
        )
        .await;
    assert!(
        obligations.text.contains("personal_data_notice"),
        "{}",
        obligations.text
    );
    // A level override without a reason is refused; with one, the assessed level stays beside it.
    let bare = h
        .call(
            Method::POST,
            &format!("{incident}/level"),
            &analyst,
            Some(json!({"level": 4, "reason": " "})),
        )
        .await;
    assert_eq!(bare.status, 422, "{}", bare.text);
    let raised = h
        .call(
            Method::POST,
            &format!("{incident}/level"),
            &analyst,
            Some(json!({"level": 4, "reason": "the same actor hit three ministries this week"})),
        )
        .await;
    assert_eq!(raised.status, 200, "{}", raised.text);
    assert_eq!(raised.json["level"], 4);
    assert_eq!(raised.json["assessed"].as_u64().unwrap(), assessed);
    let view = h.call(Method::GET, &incident, &analyst, None).await;
    assert!(view.text.contains("three ministries"), "{}", view.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_list_comes_in_pages_with_a_cursor() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let path = format!("/api/v1/tenants/{OWN}/incidents");
    let facts = json!({"functional_impact": "low", "information_impact": "none", "recoverability": "regular",
                       "scope": "one_facility", "facility_class": 2, "stage": "ongoing"});
    for title in ["first", "second", "third"] {
        let created = h
            .call(
                Method::POST,
                &path,
                &analyst,
                Some(json!({"title": title, "category": "malicious-code", "facts": facts})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        h.advance(SignedDuration::from_secs(1));
    }
    let page = h
        .call(Method::GET, &format!("{path}?limit=2"), &analyst, None)
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let titles = |answer: &crate::harness::Answer| -> Vec<String> {
        answer
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(&page), ["third", "second"], "newest first");
    // Walking the pages gives the whole list (the harness's own incident included), each once, in order.
    let whole = h.call(Method::GET, &path, &analyst, None).await;
    assert_eq!(titles(&whole).len(), 4, "a default page holds them all");
    let mut walked = titles(&page);
    let mut cursor = page.headers["kuzet-next-cursor"]
        .to_str()
        .unwrap()
        .to_owned();
    for _ in 0..4 {
        let next = h
            .call(
                Method::GET,
                &format!("{path}?limit=2&after={cursor}"),
                &analyst,
                None,
            )
            .await;
        assert_eq!(next.status, 200, "{}", next.text);
        walked.extend(titles(&next));
        match next.headers.get("kuzet-next-cursor") {
            Some(value) => cursor = value.to_str().unwrap().to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, titles(&whole));
    // Obligations page the same way, soonest due first.
    let obligations = format!("/api/v1/tenants/{OWN}/obligations");
    let all = h.call(Method::GET, &obligations, &analyst, None).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let ids = |answer: &crate::harness::Answer| -> Vec<String> {
        answer
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = h
        .call(
            Method::GET,
            &format!("{obligations}?limit=1"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let mut walked = ids(&first);
    let mut after = first.headers.get("kuzet-next-cursor").cloned();
    for _ in 0..ids(&all).len() {
        let Some(cursor) = after.take() else { break };
        let next = h
            .call(
                Method::GET,
                &format!("{obligations}?limit=1&after={}", cursor.to_str().unwrap()),
                &analyst,
                None,
            )
            .await;
        assert_eq!(next.status, 200, "{}", next.text);
        walked.extend(ids(&next));
        after = next.headers.get("kuzet-next-cursor").cloned();
    }
    assert_eq!(walked, ids(&all));
    assert!(walked.len() >= 2, "more than one page walked: {walked:?}");
    for (query, expected) in [
        ("limit=0", "limit `0`"),
        ("limit=501", "limit `501`"),
        ("after=yesterday", "cursor `yesterday`"),
        ("sort=title", "unknown parameter `sort`"),
    ] {
        let answer = h
            .call(Method::GET, &format!("{path}?{query}"), &analyst, None)
            .await;
        assert!(
            answer.status == 400 || answer.status == 422,
            "{query}: {}",
            answer.text
        );
        assert!(
            answer.message().contains(expected),
            "{query}: {}",
            answer.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_by_status_and_triaged_with_who_and_why() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let list = format!("/api/v1/tenants/{OWN}/alerts");
    let all = h.call(Method::GET, &list, &analyst, None).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let items: serde_json::Value = serde_json::from_str(&all.text).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["status"], "new");
    assert_eq!(items[0]["rule"]["title"], "Windows event log cleared");
    assert_eq!(items[0]["hits"], 1);
    let id = items[0]["id"].as_str().unwrap().to_owned();
    let alert = format!("{list}/{id}");

    let bad = h
        .call(
            Method::POST,
            &format!("{alert}/triage"),
            &analyst,
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.message()
            .contains("expected new, acknowledged, false_positive or escalated"),
        "{}",
        bad.text
    );

    let done = h
        .call(
            Method::POST,
            &format!("{alert}/triage"),
            &analyst,
            Some(json!({"status": "false_positive", "reason": "planned log rotation"})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let done: serde_json::Value = serde_json::from_str(&done.text).unwrap();
    assert_eq!(done["status"], "false_positive");
    assert_eq!(done["triage"]["by"], "aigerim");
    assert_eq!(done["triage"]["reason"], "planned log rotation");

    let open = h
        .call(Method::GET, &format!("{list}?status=new"), &analyst, None)
        .await;
    assert_eq!(open.text.trim(), "[]");
    let closed = h
        .call(
            Method::GET,
            &format!("{list}?status=false_positive"),
            &analyst,
            None,
        )
        .await;
    assert!(closed.text.contains(&id));
    let unknown = h
        .call(Method::GET, &format!("{list}?state=new"), &analyst, None)
        .await;
    assert_eq!(unknown.status, 400);

    // Another tenant's analyst finds nothing, even with the id.
    let banker = h.session("banker").await;
    assert_eq!(h.call(Method::GET, &alert, &banker, None).await.status, 404);
    let guessed = format!("/api/v1/tenants/{OTHER}/alerts/{id}");
    assert_eq!(
        h.call(Method::GET, &guessed, &banker, None).await.status,
        404
    );
}

/// A file kept as evidence: hashed while stored, listed with its digest, served byte for byte with each download
/// in the chain of custody — and refused once its bytes on disk no longer match the sealed digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_kept_as_evidence_are_checked_on_every_read() {
    use axum::body::Body;
    use tower::ServiceExt;
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let incident = h.incidents[OWN].0.clone();
    let base = format!("/api/v1/tenants/{OWN}/incidents/{incident}/evidence");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let upload = |path: String, body: Vec<u8>| {
        let mut request = Harness::request(Method::POST, &path, &analyst, None);
        *request.body_mut() = Body::from(body);
        h.router.clone().oneshot(request)
    };
    let response = upload(
        format!("{base}/files?name=%D0%B4%D0%B0%D0%BC%D0%BF.bin&reason=memory%20of%20web1"),
        bytes.clone(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let made: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    let digest = made["sha256"].as_str().unwrap().to_owned();
    let expected: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(digest, expected);
    assert_eq!(made["size"], 200_000);
    assert_eq!(made["name"], "дамп.bin");
    // Without a reason, or for an incident that does not exist here: refused, nothing kept.
    let refused = upload(format!("{base}/files?name=x"), vec![1])
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let elsewhere = format!(
        "/api/v1/tenants/{OTHER}/incidents/{}/evidence/files?name=x&reason=y",
        h.incidents[OTHER].0
    );
    assert_eq!(upload(elsewhere, vec![1]).await.unwrap().status(), 404);

    let listed = h.call(Method::GET, &base, &analyst, None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["files"][0]["sha256"], digest.as_str());
    let download = format!("{base}/files/{digest}");
    let request = Harness::request(Method::GET, &download, &analyst, None);
    let response = h.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let served = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(served.as_ref(), bytes.as_slice());
    let after = h.call(Method::GET, &base, &analyst, None).await;
    let custody = after.json["custody"].as_array().unwrap();
    assert!(
        custody
            .iter()
            .any(|c| c["action"] == "collected" && c["reason"].as_str().unwrap().contains(&digest))
    );
    assert!(
        custody
            .iter()
            .any(|c| c["reason"].as_str().unwrap().contains("downloaded"))
    );

    // Someone with the disk changes the file: it is no longer served.
    let stored = h.dir.path().join("data/evidence").join(OWN).join(&digest);
    let mut altered = std::fs::read(&stored).unwrap();
    altered[7] ^= 1;
    std::fs::write(&stored, altered).unwrap();
    let refused = h.call(Method::GET, &download, &analyst, None).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.code(), "evidence_altered");
}

/// An incident is given to an analyst who works the tenant's incidents, and its observables are recorded checked,
/// once, beside what its alerts name; the incident's assets follow them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_are_assigned_and_their_observables_recorded() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let (incident, _) = &h.incidents[OWN];
    let base = format!("/api/v1/tenants/{OWN}/incidents/{incident}");
    let assign = |user: serde_json::Value| json!({ "user": user });
    let given = h
        .call(
            Method::POST,
            &format!("{base}/assignee"),
            &analyst,
            Some(assign(json!("aigerim"))),
        )
        .await;
    assert_eq!(given.status, 204, "{}", given.text);
    let view = h.call(Method::GET, &base, &analyst, None).await;
    assert_eq!(view.json["assignee"], "aigerim");
    let refused = h
        .call(
            Method::POST,
            &format!("{base}/assignee"),
            &analyst,
            Some(assign(json!("banker"))),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused
            .message()
            .contains("no role of the user manages incidents of tenant `akimat`"),
        "{}",
        refused.text
    );

    let observables = format!("{base}/observables");
    let add =
        |kind: &str, value: &str| json!({"kind": kind, "value": value, "note": "from the proxy"});
    let first = h
        .call(
            Method::POST,
            &observables,
            &analyst,
            Some(add("domain", "Evil.Example.KZ.")),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json["value"], "evil.example.kz");
    let again = h
        .call(
            Method::POST,
            &observables,
            &analyst,
            Some(add("domain", "evil.example.kz")),
        )
        .await;
    assert_eq!(again.status, 200, "the same observable: {}", again.text);
    let bad = h
        .call(
            Method::POST,
            &observables,
            &analyst,
            Some(add("hash", "abc")),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.message().starts_with("observable hash `abc`:"),
        "{}",
        bad.text
    );
    let unknown = h
        .call(
            Method::POST,
            &observables,
            &analyst,
            Some(add("ipv4", "10.0.0.1")),
        )
        .await;
    assert_eq!(unknown.status, 422);

    let listed = h.call(Method::GET, &observables, &analyst, None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let items = listed.json.as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.text);
    assert_eq!(items[0]["added_by"], "aigerim");
    assert!(items[0]["alert"].is_null());

    // The alert joins the incident: its host is an observable too.
    let added = h
        .call(
            Method::POST,
            &format!("{base}/alerts"),
            &analyst,
            Some(json!({"alerts": [h.alerts[OWN]]})),
        )
        .await;
    assert_eq!(added.status, 204, "{}", added.text);
    let listed = h.call(Method::GET, &observables, &analyst, None).await;
    let items = listed.json.as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", listed.text);
    assert_eq!(items[1]["kind"], "host");
    assert_eq!(items[1]["value"], format!("{OWN}-dc"));
    assert_eq!(items[1]["alert"], h.alerts[OWN].as_str());

    let banker = h.session("banker").await;
    let other = h
        .call(
            Method::POST,
            &observables,
            &banker,
            Some(add("ip", "10.0.0.1")),
        )
        .await;
    assert!(
        !other.status.is_success(),
        "another tenant's analyst: {}",
        other.text
    );
}
