//! The hub's crisis rooms (R11): an NCCIS officer convenes the Operational Headquarters, runs the room and
//! closes it; the timeline keeps every change; nobody else convenes anything.

use axum::http::Method;
use serde_json::json;

use crate::harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_runs_a_crisis_room_from_opening_to_closing() {
    let h = Harness::new().await;
    let officer = h.session("officer").await;
    let rooms = "/api/v1/hub/crises";
    let unreported = h
        .call(
            Method::POST,
            rooms,
            &officer,
            Some(
                json!({"title": "Outage", "reason": "ransomware", "level": 4,
                        "incidents": [{"isoc": "isoc-x", "incident": "nope"}]}),
            ),
        )
        .await;
    assert_eq!(unreported.status, 422, "{}", unreported.text);
    assert!(
        unreported.message().contains("not reported to this hub"),
        "{}",
        unreported.text
    );
    let low = h
        .call(
            Method::POST,
            rooms,
            &officer,
            Some(json!({"title": "Outage", "reason": "ransomware", "level": 2})),
        )
        .await;
    assert_eq!(low.status, 422, "{}", low.text);
    let opened = h
        .call(
            Method::POST,
            rooms,
            &officer,
            Some(json!({"title": "Energy sector outage", "reason": "ransomware at two distributors", "level": 4})),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    assert_eq!(opened.json["state"], "open");
    let id = opened.json["id"].as_str().unwrap().to_owned();
    let room = format!("{rooms}/{id}");
    let due = (h.now() + jiff::SignedDuration::from_hours(2)).to_string();
    for (path, body) in [
        (
            "members",
            json!({"name": "A. Seitkali", "organization": "KNB", "role": "liaison", "contact": "+7 700 000 00 00"}),
        ),
        (
            "tasks",
            json!({"title": "Isolate the OT networks", "owner": "energy ISOC", "due": due}),
        ),
        ("entries", json!({"text": "headquarters met"})),
    ] {
        let answer = h
            .call(
                Method::POST,
                &format!("{room}/{path}"),
                &officer,
                Some(body),
            )
            .await;
        assert_eq!(answer.status, 204, "{path}: {}", answer.text);
    }
    let done = h
        .call(
            Method::POST,
            &format!("{room}/tasks/0/done"),
            &officer,
            None,
        )
        .await;
    assert_eq!(done.status, 204, "{}", done.text);
    let twice = h
        .call(
            Method::POST,
            &format!("{room}/tasks/0/done"),
            &officer,
            None,
        )
        .await;
    assert_eq!(twice.status, 409, "{}", twice.text);
    let bad_due = h
        .call(
            Method::POST,
            &format!("{room}/tasks"),
            &officer,
            Some(json!({"title": "x", "owner": "y", "due": "tomorrow"})),
        )
        .await;
    assert_eq!(bad_due.status, 422, "{}", bad_due.text);
    assert!(
        bad_due.message().starts_with("`due` `tomorrow`"),
        "{}",
        bad_due.text
    );
    let closed = h
        .call(
            Method::POST,
            &format!("{room}/close"),
            &officer,
            Some(json!({"summary": "supply restored"})),
        )
        .await;
    assert_eq!(closed.status, 204, "{}", closed.text);
    let late = h
        .call(
            Method::POST,
            &format!("{room}/entries"),
            &officer,
            Some(json!({"text": "too late"})),
        )
        .await;
    assert_eq!(late.status, 409, "{}", late.text);

    let view = h.call(Method::GET, &room, &officer, None).await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.json["state"], "closed");
    assert_eq!(view.json["summary"], "supply restored");
    assert_eq!(view.json["members"][0]["organization"], "KNB");
    assert_eq!(view.json["tasks"][0]["done_by"], "officer");
    let entries = view.json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 6, "{}", view.text);
    assert_eq!(entries[5]["text"], "closed: supply restored");
    let list = h.call(Method::GET, rooms, &officer, None).await;
    assert_eq!(list.json.as_array().unwrap().len(), 1);

    // An ISOC's administrator or analyst convenes nothing.
    for user in ["admin", "aigerim"] {
        let session = h.session(user).await;
        let refused = h
            .call(
                Method::POST,
                rooms,
                &session,
                Some(json!({"title": "x", "reason": "y", "level": 3})),
            )
            .await;
        assert_eq!(refused.status, 403, "{user}: {}", refused.text);
    }
}
