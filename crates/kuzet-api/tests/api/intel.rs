//! A tenant's threat intelligence over TAXII 2.1 and as a STIX 2.1 export: collections per TLP level, a sighting
//! of an indicator in the tenant's events, the vulnerability of an advisory that concerned it; nothing marked
//! narrower than a collection's level in it; paging, filters, refusals.

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{Auth, Harness, INDICATOR_FEED, OTHER, OWN};

fn t(id: &str) -> kuzet_model::TenantId {
    kuzet_model::TenantId::new(id).unwrap()
}

/// The fixture plus what a tenant's intelligence is made of: a sighting of the feed's address at `akimat` (and a
/// false positive that must not be shared), and an advisory for a product `akimat` runs.
async fn fixture() -> (Harness, Auth) {
    let h = Harness::new().await;
    let now = h.now();
    let mut set = kuzet_detect::IndicatorSet::new();
    set.add_csv("feeds/kz-cert.csv", INDICATOR_FEED);
    let address = set.indicators()[0].clone();
    assert_eq!(address.value, "203.0.113.7");
    for (host, judged_false) in [("akimat-dc", false), ("akimat-lab", true)] {
        let alert = kuzet_db::NewAlert {
            tenant: t(OWN),
            rule_id: address.provenance.reference.clone(),
            rule_title: "Indicator ip 203.0.113.7 (password guessing source)".into(),
            level: "high".into(),
            kind: "indicator".into(),
            dedup_key: format!("indicator:ip:203.0.113.7:{host}"),
            at: now,
            events: vec![h.events[OWN]],
            detail: json!({"host": host, "field": "source.ip", "matched": "203.0.113.7", "indicator": address}),
        };
        let (id, _) =
            h.db.system_record_alert(&alert, now, jiff::SignedDuration::from_mins(10))
                .await
                .unwrap();
        if judged_false {
            let analyst = h.principal("aigerim").await;
            let scope = analyst
                .scope(kuzet_model::access::Permission::IncidentsManage, now)
                .unwrap();
            h.db.triage_alert(
                &scope,
                &t(OWN),
                &id,
                kuzet_db::AlertStatus::FalsePositive,
                "lab scanner",
                now,
            )
            .await
            .unwrap();
        }
    }
    let admin = h.principal("admin").await;
    let scope = admin
        .scope(kuzet_model::access::Permission::AssetsManage, now)
        .unwrap();
    h.db.create_asset(
        &scope,
        &kuzet_db::NewAsset {
            tenant: t(OWN),
            facility: None,
            name: "portal".into(),
            product: Some("cpe:2.3:a:bitrix:site_manager:22.5.1".into()),
            version: None,
            addresses: Vec::new(),
        },
        now,
    )
    .await
    .unwrap();
    let advisory: kuzet_cases::Advisory = serde_json::from_value(json!({
        "type": "vulnerability", "title": "RCE in the portal CMS", "severity": "critical",
        "description": "remote code execution", "cve": ["CVE-2026-1234"],
        "affected": [{"product": "cpe:2.3:a:bitrix:site_manager", "versions": "<23.100.0"}],
        "remedies": ["update to 23.100.0"], "references": ["https://cert.example.kz/a/1"],
    }))
    .unwrap();
    h.db.system_receive(
        ("00112233445566778899aabbccddeeff", 1, "advisory"),
        ("{}", "h..s"),
        &kuzet_db::Incoming::Advisory(&advisory),
        now,
    )
    .await
    .unwrap();
    let analyst = h.session("aigerim").await;
    (h, analyst)
}

async fn get(
    h: &Harness,
    path: &str,
    auth: &Auth,
    accept: Option<&str>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut request = Harness::request(Method::GET, path, auth, None);
    if let Some(accept) = accept {
        request
            .headers_mut()
            .insert(header::ACCEPT, accept.parse().unwrap());
    }
    let response = h.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

const TAXII: &str = "application/taxii+json;version=2.1";

fn types(envelope: &Value) -> Vec<String> {
    let mut out: Vec<String> = envelope["objects"]
        .as_array()
        .map(|o| {
            o.iter()
                .map(|o| o["type"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_share_each_level_and_nothing_narrower() {
    let (h, analyst) = fixture().await;
    let (status, discovery, headers) = get(&h, "/taxii2/", &analyst, Some(TAXII)).await;
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(headers[header::CONTENT_TYPE], TAXII);
    // The analyst is assigned one organization: one API root.
    assert_eq!(discovery["api_roots"], json!([format!("/taxii2/{OWN}/")]));

    let (_, root, _) = get(&h, &format!("/taxii2/{OWN}/"), &analyst, Some(TAXII)).await;
    assert_eq!(root["versions"], json!([TAXII]));
    let (_, listed, _) = get(&h, &format!("/taxii2/{OWN}/collections/"), &analyst, None).await;
    let collections = listed["collections"].as_array().unwrap();
    let aliases: Vec<&str> = collections
        .iter()
        .map(|c| c["alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["tlp-clear", "tlp-green", "tlp-amber", "tlp-red"]);
    assert!(
        collections
            .iter()
            .all(|c| c["can_read"] == true && c["can_write"] == false)
    );
    let id = |alias: &str| {
        collections.iter().find(|c| c["alias"] == alias).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let objects = |alias: &str| format!("/taxii2/{OWN}/collections/{}/objects/", id(alias));

    // The feed marks nothing, so its indicators are TLP:AMBER like the tenant's own records: the green
    // collection holds only the producer's identity (TLP:CLEAR) and the marking definition it uses.
    let (status, green, _) = get(&h, &objects("tlp-green"), &analyst, Some(TAXII)).await;
    assert_eq!(status, 200, "{green}");
    assert_eq!(types(&green), ["identity", "marking-definition"]);
    let (_, amber, headers) = get(&h, &objects("tlp-amber"), &analyst, Some(TAXII)).await;
    assert_eq!(
        types(&amber),
        [
            "identity",
            "identity",
            "indicator",
            "indicator",
            "marking-definition",
            "marking-definition",
            "sighting",
            "vulnerability"
        ]
    );
    assert!(headers.contains_key("x-taxii-date-added-first"));
    let all = amber["objects"].as_array().unwrap();
    let find = |kind: &str| all.iter().find(|o| o["type"] == kind).unwrap();
    let sighting = find("sighting");
    // The sighting points at the indicator of the feed and at the organization; the false positive is not shared.
    let indicator = all
        .iter()
        .find(|o| o["type"] == "indicator" && o["pattern"] == "[ipv4-addr:value = '203.0.113.7']")
        .unwrap();
    assert_eq!(sighting["sighting_of_ref"], indicator["id"]);
    assert_eq!(sighting["count"], 1);
    let place = all
        .iter()
        .find(|o| o["id"] == sighting["where_sighted_refs"][0])
        .unwrap();
    assert_eq!(place["type"], "identity");
    let vulnerability = find("vulnerability");
    assert_eq!(vulnerability["name"], "CVE-2026-1234");
    assert_eq!(
        vulnerability["external_references"][0]["external_id"],
        "CVE-2026-1234"
    );
    for object in all.iter().filter(|o| o["type"] != "marking-definition") {
        let marking = object["object_marking_refs"][0].as_str().unwrap();
        let level = kuzet_model::Tlp::from_marking(marking).unwrap();
        assert!(level <= kuzet_model::Tlp::Amber, "{object}");
    }

    // Pages of one, in the order objects were added, each once.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(token) => format!("{}?limit=1&next={token}", objects("tlp-amber")),
            None => format!("{}?limit=1", objects("tlp-amber")),
        };
        let (status, page, _) = get(&h, &path, &analyst, Some(TAXII)).await;
        assert_eq!(status, 200, "{page}");
        seen.push(page["objects"][0]["id"].as_str().unwrap().to_owned());
        match page["next"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), all.len());

    // Filters: by type, one object, its manifest and versions.
    let (_, only, _) = get(
        &h,
        &format!("{}?match[type]=sighting", objects("tlp-amber")),
        &analyst,
        None,
    )
    .await;
    assert_eq!(types(&only), ["sighting"]);
    let one = format!(
        "{}{}/",
        objects("tlp-amber"),
        sighting["id"].as_str().unwrap()
    );
    let (status, object, _) = get(&h, &one, &analyst, None).await;
    assert_eq!(
        (status, object["objects"][0]["id"].clone()),
        (StatusCode::OK, sighting["id"].clone())
    );
    let (_, versions, _) = get(&h, &format!("{one}versions/"), &analyst, None).await;
    assert_eq!(versions["versions"], json!([sighting["modified"]]));
    let manifest_path = objects("tlp-amber").replace("/objects/", "/manifest/");
    let (_, manifest, _) = get(&h, &manifest_path, &analyst, None).await;
    assert_eq!(manifest["objects"].as_array().unwrap().len(), all.len());
    // An object of a narrower level is not found in a wider collection.
    let narrower = format!(
        "{}{}/",
        objects("tlp-green"),
        sighting["id"].as_str().unwrap()
    );
    assert_eq!(get(&h, &narrower, &analyst, None).await.0, 404);

    // Refusals: an Accept TAXII 2.1 cannot answer, a query that does not read, a collection that is not one,
    // another organization's root.
    let (status, error, _) = get(
        &h,
        &objects("tlp-amber"),
        &analyst,
        Some("application/taxii+json;version=2.0"),
    )
    .await;
    assert_eq!(status, 406, "{error}");
    let (status, error, _) = get(
        &h,
        &format!("{}?limit=0", objects("tlp-amber")),
        &analyst,
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        error["description"].as_str().unwrap().contains("`limit`"),
        "{error}"
    );
    let (status, _, _) = get(
        &h,
        &format!("/taxii2/{OWN}/collections/00000000-0000-0000-0000-000000000000/"),
        &analyst,
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        get(&h, &format!("/taxii2/{OTHER}/collections/"), &analyst, None)
            .await
            .0,
        404
    );

    // The export: a bundle of what may be shared at the level asked.
    let (status, bundle, headers) = get(
        &h,
        &format!("/api/v1/tenants/{OWN}/intel/stix?tlp=green"),
        &analyst,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/stix+json;version=2.1"
    );
    assert_eq!(bundle["type"], "bundle");
    assert_eq!(types(&bundle), ["identity", "marking-definition"]);
    let (_, bundle, _) = get(
        &h,
        &format!("/api/v1/tenants/{OWN}/intel/stix"),
        &analyst,
        None,
    )
    .await;
    assert_eq!(bundle["objects"].as_array().unwrap().len(), all.len());
    let (status, _, _) = get(
        &h,
        &format!("/api/v1/tenants/{OWN}/intel/stix?tlp=purple"),
        &analyst,
        None,
    )
    .await;
    assert_eq!(status, 400);
}
