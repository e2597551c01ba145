//! Every paged list: pages of any size, walked with the `Kuzet-Next-Cursor` header, give the whole list once, in
//! its order; a cursor that is not one of the list's is refused by name.

use axum::http::Method;
use serde_json::{Value, json};

use crate::harness::{Auth, Harness, OTHER, OWN};

/// The list at `path` walked in pages of `limit`.
async fn walk(h: &Harness, path: &str, auth: &Auth, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = format!("{path}?limit={limit}");
    loop {
        let page = h.call(Method::GET, &next, auth, None).await;
        assert_eq!(page.status, 200, "{next}: {}", page.text);
        let got = page.json.as_array().unwrap();
        assert!(got.len() <= limit, "{next}: {} items", got.len());
        items.extend(got.iter().cloned());
        match page.headers.get("kuzet-next-cursor") {
            Some(cursor) => {
                assert_eq!(got.len(), limit, "{next}: a short page before the last");
                next = format!("{path}?limit={limit}&after={}", cursor.to_str().unwrap());
            }
            None => return items,
        }
    }
}

async fn assert_pages_give_the_whole_list(h: &Harness, path: &str, auth: &Auth, at_least: usize) {
    let whole = h.call(Method::GET, path, auth, None).await;
    assert_eq!(whole.status, 200, "{path}: {}", whole.text);
    let whole = whole.json.as_array().unwrap().clone();
    assert!(whole.len() >= at_least, "{path}: {} items", whole.len());
    for limit in [1, 2, 3, whole.len()] {
        assert_eq!(
            walk(h, path, auth, limit).await,
            whole,
            "{path} in pages of {limit}"
        );
    }
    let refused = h
        .call(Method::GET, &format!("{path}?after=yesterday"), auth, None)
        .await;
    assert_eq!(refused.status, 422, "{path}: {}", refused.text);
    assert!(
        refused.text.contains("cursor `yesterday`"),
        "{}",
        refused.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_users_and_grants_come_in_pages() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    for id in ["b-beats", "a-fluent", "c-vector", "a.b"] {
        let made = h
            .call(
                Method::POST,
                &format!("/api/v1/tenants/{OWN}/sources"),
                &admin,
                Some(json!({"id": id, "name": id, "format": "json"})),
            )
            .await;
        // `a.b` is not a source id: the refusal names it, and the list is unchanged.
        if id == "a.b" {
            assert_eq!(made.status, 422, "{}", made.text);
        } else {
            assert_eq!(made.status, 201, "{}", made.text);
        }
    }
    assert_pages_give_the_whole_list(&h, &format!("/api/v1/tenants/{OWN}/sources"), &admin, 4)
        .await;

    // User ids may hold `.` and `@`: cursors carry them.
    for id in ["a.nurlanov", "z@isoc", "b_user"] {
        let made = h
            .call(
                Method::POST,
                "/api/v1/users",
                &admin,
                Some(json!({"id": id, "roles": ["analyst"]})),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
    }
    assert_pages_give_the_whole_list(&h, "/api/v1/users", &admin, 9).await;

    // Grants made in one instant and across tenants: newest first, ties by id.
    let ends = h.now() + jiff::SignedDuration::from_hours(24);
    for (tenant, step) in [(OWN, 0), (OTHER, 1), (OWN, 1), (OTHER, 2)] {
        h.advance(jiff::SignedDuration::from_mins(step));
        let made = h
            .call(
                Method::POST,
                "/api/v1/grants",
                &admin,
                Some(json!({"user": "nccis", "tenant": tenant, "ends": ends, "reason": "NCCIS request"})),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
    }
    assert_pages_give_the_whole_list(&h, "/api/v1/grants", &admin, 5).await;
    let grants = h.call(Method::GET, "/api/v1/grants", &admin, None).await;
    let starts: Vec<jiff::Timestamp> = grants
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["starts"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {starts:?}"
    );
}
