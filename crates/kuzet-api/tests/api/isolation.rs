//! Tenant-isolation attacks: another tenant's ids guessed, replayed, passed in bodies, filters and exports — never
//! returned, and their existence never confirmed.

use axum::http::Method;
use jiff::SignedDuration;
use serde_json::json;

use crate::harness::{Auth, Harness, OTHER, OWN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_objects_are_never_returned() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let bank_event = h.events[OTHER].to_string();
    let own_event = h.events[OWN].to_string();

    // Guessed ids in paths: "not found", exactly as for a tenant that does not exist.
    for path in [
        format!("/api/v1/tenants/{OTHER}"),
        format!("/api/v1/tenants/{OTHER}/sources"),
        format!("/api/v1/tenants/{OTHER}/facilities"),
        format!("/api/v1/tenants/{OTHER}/events/export"),
    ] {
        let answer = h.call(Method::GET, &path, &analyst, None).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
        let missing = h
            .call(
                Method::GET,
                &path.replace(OTHER, "no-such-org"),
                &analyst,
                None,
            )
            .await;
        assert_eq!(answer.status, missing.status, "{path}");
        assert_eq!(
            answer.message().replace(OTHER, "X"),
            missing.message().replace("no-such-org", "X"),
            "{path}: the answer must not tell an existing tenant from a missing one"
        );
    }
    let answer = h
        .call(
            Method::GET,
            &format!("/api/v1/events/{bank_event}"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert!(!answer.text.contains("host-bank"), "{}", answer.text);
    let answer = h
        .call(
            Method::GET,
            &format!("/api/v1/events/{own_event}"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["event"]["tenant"], OWN);
    assert_eq!(answer.json["proof"]["tenant"], OWN);

    // Lists hold only the caller's tenants.
    let answer = h.call(Method::GET, "/api/v1/tenants", &analyst, None).await;
    let ids: Vec<_> = answer
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(OWN)]);

    // Filters and exports: a tenant filter in the query does not widen an export.
    let answer = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/events/export?tenant={OTHER}"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let lines: Vec<&str> = answer.text.lines().collect();
    assert_eq!(lines.len(), 1, "{}", answer.text);
    assert!(
        lines
            .iter()
            .all(|l| l.contains(&format!("\"tenant\":\"{OWN}\""))),
        "{}",
        answer.text
    );
    assert!(!answer.text.contains("host-bank"));

    // Bodies: a token for another tenant cannot be made; a token for one's own reaches only it.
    let expires = (h.now() + SignedDuration::from_hours(1)).to_string();
    let answer = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &analyst,
            Some(json!({"name": "x", "role": "analyst", "tenants": [OTHER], "expires": expires})),
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    let answer = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &analyst,
            Some(json!({"name": "x", "role": "analyst", "tenants": [OWN], "expires": expires})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let token = Auth::Token(answer.json["token"].as_str().unwrap().to_owned());
    let answer = h
        .call(
            Method::GET,
            &format!("/api/v1/events/{bank_event}"),
            &token,
            None,
        )
        .await;
    assert_eq!(answer.status, 404);
    // A role the owner does not hold cannot be claimed in a body.
    let answer = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &analyst,
            Some(json!({"name": "x", "role": "isoc-admin", "expires": expires})),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);

    // Replays: a logged-out cookie, a revoked token, a token past its expiry.
    let Auth::Session { cookie, csrf } = h.session("aigerim").await else {
        unreachable!()
    };
    let session = Auth::Session {
        cookie: cookie.clone(),
        csrf,
    };
    assert_eq!(
        h.call(Method::POST, "/api/v1/auth/logout", &session, None)
            .await
            .status,
        204
    );
    let answer = h.call(Method::GET, "/api/v1/tenants", &session, None).await;
    assert_eq!(
        answer.status, 401,
        "a logged-out session replayed: {}",
        answer.text
    );
    let list = h.call(Method::GET, "/api/v1/tokens", &analyst, None).await;
    let id = list.json[0]["id"].as_str().unwrap().to_owned();
    // The list comes in pages: a second token, pages of one, each token once, oldest first.
    let second = h
        .call(
            Method::POST,
            "/api/v1/tokens",
            &analyst,
            Some(json!({"name": "y", "role": "analyst", "expires": expires})),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    // Both made at the test clock's one instant: ties go by id, so the order is the whole list's.
    let whole = h.call(Method::GET, "/api/v1/tokens", &analyst, None).await;
    assert_eq!(whole.json.as_array().unwrap().len(), 2, "{}", whole.text);
    assert!(
        whole
            .json
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == second.json["id"])
    );
    let first_page = h
        .call(Method::GET, "/api/v1/tokens?limit=1", &analyst, None)
        .await;
    assert_eq!(first_page.json.as_array().unwrap().len(), 1);
    assert_eq!(first_page.json[0]["id"], whole.json[0]["id"]);
    let cursor = first_page.headers["kuzet-next-cursor"]
        .to_str()
        .unwrap()
        .to_owned();
    let next_page = h
        .call(
            Method::GET,
            &format!("/api/v1/tokens?limit=1&after={cursor}"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(
        next_page.json[0]["id"], whole.json[1]["id"],
        "{}",
        next_page.text
    );
    assert!(next_page.headers.get("kuzet-next-cursor").is_none());
    assert_eq!(
        h.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &analyst,
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        h.call(Method::GET, "/api/v1/tenants", &token, None)
            .await
            .status,
        401
    );

    // Cross-site: the cookie without the CSRF token changes nothing.
    let Auth::Session { cookie, .. } = h.session("admin").await else {
        unreachable!()
    };
    let answer = h
        .call(
            Method::POST,
            "/api/v1/tenants",
            &Auth::CookieOnly(cookie.clone()),
            Some(json!({"id": "evil", "name": "x"})),
        )
        .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "csrf"),
        "{}",
        answer.text
    );
    // Reading with the cookie alone is fine (no change, and SameSite keeps other sites out).
    assert_eq!(
        h.call(
            Method::GET,
            "/api/v1/tenants",
            &Auth::CookieOnly(cookie),
            None
        )
        .await
        .status,
        200
    );

    // NCCIS reads only while its grant runs (R19).
    let nccis = h.session("nccis").await;
    let path = format!("/api/v1/events/{own_event}");
    assert_eq!(h.call(Method::GET, &path, &nccis, None).await.status, 200);
    assert_eq!(
        h.call(
            Method::GET,
            &format!("/api/v1/events/{bank_event}"),
            &nccis,
            None
        )
        .await
        .status,
        404
    );
    h.advance(SignedDuration::from_hours(25));
    let nccis = h.session("nccis").await;
    assert_eq!(h.call(Method::GET, &path, &nccis, None).await.status, 404);
    // The facility owner sees its organization but not the raw logs.
    let owner = h.session("owner").await;
    assert_eq!(
        h.call(Method::GET, &format!("/api/v1/tenants/{OWN}"), &owner, None)
            .await
            .status,
        200
    );
    assert_eq!(h.call(Method::GET, &path, &owner, None).await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_only_the_callers_tenants_and_names_query_errors() {
    let h = Harness::new().await;
    let analyst = h.session("aigerim").await;
    let banker = h.session("banker").await;
    let range = |query: &str| json!({"query": query, "from": "2026-12-01T00:00:00Z", "to": "2026-12-05T00:00:00Z"});
    let search = |auth: Auth, body: serde_json::Value| {
        let h = &h;
        async move {
            h.call(Method::POST, "/api/v1/search", &auth, Some(body))
                .await
        }
    };
    // Both tenants hold the same kind of event; each analyst finds only their organization's.
    for (auth, tenant) in [(analyst.clone(), OWN), (banker.clone(), OTHER)] {
        let answer = search(auth, range("\"failed password\" AND source.ip:10.0.0.0/8")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["total"], 1, "{}", answer.text);
        assert_eq!(answer.json["events"][0]["organization"]["id"], tenant);
        assert_eq!(
            answer.json["events"][0]["event"]["id"],
            h.events[tenant].to_string()
        );
    }
    // Asking for another organization's tenant by name is "not found", as for one that does not exist.
    let mut body = range("*");
    body["tenants"] = json!([OTHER]);
    let answer = search(analyst.clone(), body).await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert!(answer.message().contains(&format!("tenant `{OTHER}`")));
    // Outside the time range, nothing; a query error names the character and what was expected.
    let mut body = range("*");
    body["from"] = json!("2026-12-05T00:00:00Z");
    body["to"] = json!("2026-12-06T00:00:00Z");
    assert_eq!(search(analyst.clone(), body).await.json["total"], 0);
    let answer = search(analyst.clone(), range("user.name:")).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .message()
            .contains("at character 11: expected a value after `user.name:`"),
        "{}",
        answer.text
    );
    let mut body = range("*");
    body["size"] = json!(100_000);
    assert_eq!(search(analyst.clone(), body).await.status, 400);
    // A histogram of the whole range: the one match in its day's bucket, every bucket a day long.
    let mut body = range("\"failed password\"");
    body["histogram"] = json!("1d");
    let answer = search(analyst.clone(), body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let histogram = &answer.json["histogram"];
    assert_eq!(histogram["interval_seconds"], 86_400);
    let buckets = histogram["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 4);
    assert_eq!(buckets[0]["start"], "2026-12-01T00:00:00Z");
    assert_eq!(
        buckets
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>(),
        1
    );
    // The sidebar: the fields of the matches with their types and top values, only of the caller's events.
    let mut body = range("*");
    body["fields"] = json!(true);
    body["size"] = json!(1);
    let answer = search(analyst.clone(), body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let fields = &answer.json["fields"];
    // The sample is all of the caller's matches (fewer than 500), and only those: another organization's events
    // in it would make it larger than the scoped total.
    assert_eq!(fields["sample"], answer.json["total"], "{}", answer.text);
    let list = fields["fields"].as_array().unwrap();
    let field = |name: &str| {
        list.iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(field("source.ip")["type"], "ip", "{}", answer.text);
    assert_eq!(field("source.ip")["top"][0]["count"], 1);
    // Values over every match: the most frequent and how many different, only of the caller's events.
    let mut body = range("*");
    body["values"] = json!([{"field": "organization.id"}, {"field": "source.ip", "size": 1}]);
    let answer = search(analyst.clone(), body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let values = &answer.json["values"];
    assert_eq!(values[0]["field"], "organization.id");
    assert_eq!(values[0]["distinct"], 1, "{}", answer.text);
    assert_eq!(values[0]["top"][0]["value"], OWN);
    assert_eq!(values[0]["top"][0]["count"], answer.json["total"]);
    assert_eq!(values[1]["top"].as_array().unwrap().len(), 1);
    assert_eq!(values[1]["exact"], true);
    // A text field's whole values are not counted: the error names it and says what to ask instead.
    let mut body = range("*");
    body["values"] = json!([{"field": "message"}]);
    let answer = search(analyst.clone(), body).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.message().contains("values of `message`"),
        "{}",
        answer.text
    );
    // Export: every match, as CSV with a header and safe cells, or NDJSON; never the other organization's.
    let mut body = range("*");
    body["format"] = json!("csv");
    body["columns"] = json!(["organization.id", "source.ip", "message"]);
    let answer = h
        .call(Method::POST, "/api/v1/search/export", &analyst, Some(body))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let mut lines = answer.text.lines();
    assert_eq!(lines.next(), Some("organization.id,source.ip,message"));
    let rows: Vec<&str> = lines.collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r.starts_with(&format!("{OWN},"))),
        "{}",
        answer.text
    );
    let mut body = range("*");
    body["tenants"] = json!([OTHER]);
    let answer = h
        .call(Method::POST, "/api/v1/search/export", &analyst, Some(body))
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    let mut body = range("*");
    body["format"] = json!("xlsx");
    let answer = h
        .call(Method::POST, "/api/v1/search/export", &analyst, Some(body))
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.message().contains("expected `ndjson` or `csv`"));
    let mut body = range("*");
    body["histogram"] = json!("1s");
    let answer = search(analyst, body).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .message()
            .contains("345600 buckets over the range, at most 1000"),
        "{}",
        answer.text
    );
}

/// The overview summarizes only the tenants a person may read incidents of; the service's counters, which span
/// every tenant, only for the ISOC's own administrators and operators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_counts_only_what_the_caller_may_read() {
    let h = Harness::new().await;
    let tenants = |answer: &crate::harness::Answer| -> Vec<String> {
        answer.json["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tenant"].as_str().unwrap().to_owned())
            .collect()
    };
    for user in ["aigerim", "owner"] {
        let session = h.session(user).await;
        let answer = h
            .call(Method::GET, "/api/v1/overview", &session, None)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(tenants(&answer), [OWN], "{user}: {}", answer.text);
        assert!(
            answer.json.get("service").is_none(),
            "{user}: {}",
            answer.text
        );
        assert!(!answer.text.contains(OTHER), "{user}: {}", answer.text);
    }
    // The administrator reads no tenant content, but sees the service's counters.
    let admin = h.session("admin").await;
    let answer = h.call(Method::GET, "/api/v1/overview", &admin, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(tenants(&answer).is_empty(), "{}", answer.text);
    assert!(answer.json["now"].is_string(), "{}", answer.text);
    let anonymous = h
        .call(Method::GET, "/api/v1/overview", &Auth::None, None)
        .await;
    assert_eq!(anonymous.status, 401);
}

/// The consolidated quarterly report holds only the organizations the caller may read reports of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consolidated_report_holds_only_the_callers_organizations() {
    let h = Harness::new().await;
    for user in ["aigerim", "owner"] {
        let session = h.session(user).await;
        let answer = h
            .call(
                Method::GET,
                "/api/v1/reports/quarterly?format=json&lang=ru",
                &session,
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{user}: {}", answer.text);
        let ids: Vec<&str> = answer.json["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["organization"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [OWN], "{user}: {}", answer.text);
        let csv = h
            .call(
                Method::GET,
                "/api/v1/reports/quarterly?format=csv",
                &session,
                None,
            )
            .await;
        assert!(!csv.text.contains(OTHER), "{user}: {}", csv.text);
    }
    let bad = h
        .call(
            Method::GET,
            "/api/v1/reports/quarterly?quarter=5",
            &h.session("aigerim").await,
            None,
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

/// An inventory imported at once: kept all or none, a bad asset named by its position, another tenant's refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_is_imported_all_or_none() {
    let h = Harness::new().await;
    let owner = h.session("owner").await;
    let path = format!("/api/v1/tenants/{OWN}/assets/import");
    let listed = |answer: &crate::harness::Answer| answer.json.as_array().map_or(0, Vec::len);
    let before = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/assets"),
            &owner,
            None,
        )
        .await;
    let bad = h
        .call(
            Method::POST,
            &path,
            &owner,
            Some(json!([
                {"name": "portal", "product": "cpe:2.3:a:bitrix:site_manager", "version": "22.5.1"},
                {"name": "mail", "addresses": ["10.0.0.0/33"]},
            ])),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.message().starts_with("asset 2:"), "{}", bad.text);
    let after_bad = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/assets"),
            &owner,
            None,
        )
        .await;
    assert_eq!(
        listed(&after_bad),
        listed(&before),
        "nothing kept of a refused import"
    );
    let good = h
        .call(
            Method::POST,
            &path,
            &owner,
            Some(json!([
                {"name": "portal", "product": "cpe:2.3:a:bitrix:site_manager", "version": "22.5.1"},
                {"name": "mail", "addresses": ["10.0.0.0/24", "10.0.1.5"]},
            ])),
        )
        .await;
    assert_eq!(good.status, 201, "{}", good.text);
    assert_eq!(listed(&good), 2);
    let after = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/assets"),
            &owner,
            None,
        )
        .await;
    assert_eq!(listed(&after), listed(&before) + 2);
    let elsewhere = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OTHER}/assets/import"),
            &owner,
            Some(json!([{"name": "x"}])),
        )
        .await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.text);
}

/// The same inventory as a spreadsheet's CSV; a CSV error names its line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_is_imported_from_csv() {
    use tower::ServiceExt;
    let h = Harness::new().await;
    let owner = h.session("owner").await;
    let send = |text: &'static str| {
        let mut request = Harness::request(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/assets/import"),
            &owner,
            None,
        );
        request.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/csv"),
        );
        *request.body_mut() = axum::body::Body::from(text);
        h.router.clone().oneshot(request)
    };
    let made = send("name,product,version,addresses\n\"Portal, e-services\",cpe:2.3:a:bitrix:site_manager,22.5.1,10.0.0.0/24;10.0.1.5\n")
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let listed = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/assets"),
            &owner,
            None,
        )
        .await;
    assert!(
        listed.text.contains("Portal, e-services"),
        "{}",
        listed.text
    );
    let refused = send("name,owner\nx,y\n").await.unwrap();
    assert_eq!(refused.status(), 422);
    let text = axum::body::to_bytes(refused.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text).contains("line 1"),
        "{}",
        String::from_utf8_lossy(&text)
    );
}

/// An event names the inventory's assets by its host name and addresses; an incident those its alerts name —
/// matched when asked, so an asset added later links them too; another tenant's analyst learns nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_incidents_name_their_assets() {
    let h = Harness::new().await;
    let owner = h.session("owner").await;
    let analyst = h.session("aigerim").await;
    let event = format!("/api/v1/events/{}", h.events[OWN]);
    let before = h.call(Method::GET, &event, &analyst, None).await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(before.json["assets"], json!([]));
    let imported = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/assets/import"),
            &owner,
            Some(json!([
                {"name": "HOST-akimat.akimat.local", "addresses": ["10.20.0.0/16"]},
                {"name": "akimat-dc", "addresses": ["10.30.0.1/32"]},
            ])),
        )
        .await;
    assert_eq!(imported.status, 201, "{}", imported.text);
    let after = h.call(Method::GET, &event, &analyst, None).await;
    let linked = after.json["assets"].as_array().unwrap();
    assert_eq!(linked.len(), 1, "{}", after.text);
    assert_eq!(linked[0]["asset"]["name"], "HOST-akimat.akimat.local");
    assert_eq!(linked[0]["seen"], "host");
    assert_eq!(linked[0]["value"], "host-akimat");

    let (incident, _) = &h.incidents[OWN];
    let assets = format!("/api/v1/tenants/{OWN}/incidents/{incident}/assets");
    let none = h.call(Method::GET, &assets, &analyst, None).await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.json, json!([]), "no alert in the incident yet");
    let added = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/incidents/{incident}/alerts"),
            &analyst,
            Some(json!({"alerts": [h.alerts[OWN]]})),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    let some = h.call(Method::GET, &assets, &analyst, None).await;
    let linked = some.json.as_array().unwrap();
    assert_eq!(linked.len(), 1, "{}", some.text);
    assert_eq!(linked[0]["asset"]["name"], "akimat-dc");
    assert_eq!(linked[0]["field"], format!("alert {}: host", h.alerts[OWN]));

    let banker = h.session("banker").await;
    assert!(
        !h.call(Method::GET, &assets, &banker, None)
            .await
            .status
            .is_success(),
        "another tenant's incident"
    );
    assert_eq!(h.call(Method::GET, &event, &banker, None).await.status, 404);
}
