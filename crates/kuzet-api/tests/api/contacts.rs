//! A tenant's contacts and what they are told: contacts made and removed by an administrator (a webhook's secret
//! shown once), refused with the valid values named, and a confirmation's notices listed for the tenant's readers
//! with their delivery state — the owner's delivery fulfilling the owner-notification clock.

use axum::http::Method;
use serde_json::json;

use crate::harness::{Harness, OTHER, OWN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_told_of_a_confirmation_and_the_owners_delivery_fulfils_the_clock() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let analyst = h.session("aigerim").await;
    let owner_user = h.session("owner").await;
    let contacts = format!("/api/v1/tenants/{OWN}/contacts");
    for (body, expected) in [
        (
            json!({"role": "boss", "name": "A", "channel": "email", "address": "a@b.kz", "language": "kk"}),
            "one of owner, security, personal_data",
        ),
        (
            json!({"role": "owner", "name": "A", "channel": "sms", "address": "a@b.kz", "language": "kk"}),
            "one of email, webhook",
        ),
        (
            json!({"role": "owner", "name": "A", "channel": "email", "address": "a@b.kz", "language": "de"}),
            "one of kk, ru, en",
        ),
        (
            json!({"role": "owner", "name": "A", "channel": "email", "address": "akimat", "language": "kk"}),
            "not an e-mail address",
        ),
    ] {
        let refused = h.call(Method::POST, &contacts, &admin, Some(body)).await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert!(refused.message().contains(expected), "{}", refused.text);
    }
    let owner = h
        .call(
            Method::POST,
            &contacts,
            &admin,
            Some(json!({"role": "owner", "name": "Akim", "channel": "email", "address": "akim@akimat.kz", "language": "kk"})),
        )
        .await;
    assert_eq!(owner.status, 201, "{}", owner.text);
    assert!(owner.json.get("secret").is_none(), "{}", owner.text);
    let hook = h
        .call(
            Method::POST,
            &contacts,
            &admin,
            Some(json!({"role": "security", "name": "SOC", "channel": "webhook", "address": "https://soc.akimat.kz/kuzet", "language": "ru"})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    assert_eq!(
        hook.json["secret"].as_str().unwrap().len(),
        64,
        "{}",
        hook.text
    );
    let listed = h.call(Method::GET, &contacts, &analyst, None).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 2, "{}", listed.text);
    assert!(
        !listed.text.contains(hook.json["secret"].as_str().unwrap()),
        "the secret is shown once"
    );
    // Another tenant's contacts are not the analyst's to see.
    let other = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OTHER}/contacts"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(other.status, 404, "{}", other.text);

    // Confirm an incident: each contact gets the notice in its language, pending.
    let opened = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/incidents"),
            &analyst,
            Some(json!({
                "title": "password guessing on the portal", "category": "intrusion-attempts.password-guessing",
                "facts": {"functional_impact": "low", "information_impact": "none", "recoverability": "regular",
                          "scope": "one_facility", "facility_class": 2, "stage": "ongoing"},
            })),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let incident = opened.json["id"].as_str().unwrap().to_owned();
    let confirmed = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/incidents/{incident}/transitions"),
            &analyst,
            Some(json!({"to": "confirmed"})),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let owner_clock = confirmed.json["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "owner_notification")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notifications = format!("/api/v1/tenants/{OWN}/notifications");
    let sent = h.call(Method::GET, &notifications, &owner_user, None).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let sent = sent.json.as_array().unwrap().clone();
    assert_eq!(sent.len(), 2);
    let to_owner = sent
        .iter()
        .find(|n| n["contact"] == owner.json["id"])
        .unwrap();
    assert_eq!(to_owner["state"], "pending");
    assert_eq!(to_owner["obligation"], owner_clock.as_str());
    assert_eq!(to_owner["language"], "kk");
    assert!(to_owner["subject"].as_str().unwrap().contains("расталды"));
    let to_hook = sent
        .iter()
        .find(|n| n["contact"] == hook.json["id"])
        .unwrap();
    assert!(to_hook["obligation"].is_null());
    assert!(to_hook["body"].as_str().unwrap().contains(&incident));

    // NCCIS is told too: one initial message, pending, whose receipt will fulfil the NCCIS clock.
    let nccis_clock = confirmed.json["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "nccis_report")
        .unwrap()["id"]
        .clone();
    let exchange = format!("/api/v1/tenants/{OWN}/exchange");
    let messages = h.call(Method::GET, &exchange, &owner_user, None).await;
    assert_eq!(messages.status, 200, "{}", messages.text);
    let initial = messages
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["incident"] == incident.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (
            initial["kind"].as_str(),
            initial["state"].as_str(),
            &initial["obligation"]
        ),
        (Some("incident.initial"), Some("pending"), &nccis_clock)
    );
    assert_eq!(initial["payload"]["status"], "confirmed");
    assert!(initial["receipt"].is_null());

    // The process delivers (here: the database call it makes); the owner's clock is done, by that delivery.
    let id = kuzet_model::ObjectId::new(to_owner["id"].as_str().unwrap()).unwrap();
    h.db.system_notification_delivered(&id, h.now(), "250 2.0.0 Ok: queued as 1A2B")
        .await
        .unwrap();
    let clocks = h
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{OWN}/obligations"),
            &analyst,
            None,
        )
        .await;
    let clock = clocks
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == owner_clock.as_str())
        .unwrap()
        .clone();
    assert_eq!(clock["clock"]["state"], "done", "{clock}");
    assert_eq!(clock["clock"]["on_time"], true, "{clock}");
    assert!(
        clock["fulfilled"]["by"]
            .as_str()
            .unwrap()
            .contains("queued as 1A2B"),
        "{clock}"
    );
    let sent = h.call(Method::GET, &notifications, &analyst, None).await;
    let delivered = sent
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == to_owner["id"])
        .unwrap()
        .clone();
    assert_eq!(delivered["state"], "delivered");
    assert_eq!(delivered["receipt"], "250 2.0.0 Ok: queued as 1A2B");

    // Removing a contact is audited like every request; it is gone from the list.
    let hook_id = hook.json["id"].as_str().unwrap();
    let removed = h
        .call(
            Method::DELETE,
            &format!("{contacts}/{hook_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let listed = h.call(Method::GET, &contacts, &analyst, None).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_personal_data_breach_notice_names_the_responsible_the_affected_and_the_measures() {
    let h = Harness::new().await;
    let admin = h.session("admin").await;
    let analyst = h.session("aigerim").await;
    let made = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/contacts"),
            &admin,
            Some(
                json!({"role": "personal_data", "name": "Dana Seitkali", "channel": "email",
                        "address": "dpo@akimat.kz", "language": "ru"}),
            ),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let facts = json!({"functional_impact": "medium", "information_impact": "personal", "recoverability": "regular",
                       "scope": "one_facility", "facility_class": 2, "stage": "succeeded"});
    let open = |personal_data: bool| {
        let facts = facts.clone();
        let h = &h;
        let analyst = &analyst;
        async move {
            let opened = h
                .call(
                    Method::POST,
                    &format!("/api/v1/tenants/{OWN}/incidents"),
                    analyst,
                    Some(json!({"title": "applicants' data leaked", "category": "information-content-security.leak",
                                "facts": facts, "personal_data": personal_data})),
                )
                .await;
            assert_eq!(opened.status, 201, "{}", opened.text);
            opened.json["id"].as_str().unwrap().to_owned()
        }
    };
    let without = open(false).await;
    let refused = h
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{OWN}/incidents/{without}/personal-data-notice"),
            &analyst,
            Some(json!({"affected": "IIN 900101300123"})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.message().contains("no personal-data breach"),
        "{}",
        refused.text
    );

    let id = open(true).await;
    let path = format!("/api/v1/tenants/{OWN}/incidents/{id}");
    let cause = h
        .call(
            Method::POST,
            &format!("{path}/entries"),
            &analyst,
            Some(json!({"kind": "cause", "text": "an open storage bucket"})),
        )
        .await;
    assert_eq!(cause.status, 201, "{}", cause.text);
    let notice = h
        .call(
            Method::POST,
            &format!("{path}/personal-data-notice"),
            &analyst,
            Some(json!({"affected": "IIN 900101300123\nIIN 850505400456", "lang": "ru"})),
        )
        .await;
    assert_eq!(notice.status, 200, "{}", notice.text);
    for expected in [
        "Уведомление о нарушении безопасности персональных данных",
        "Dana Seitkali, dpo@akimat.kz",
        "  IIN 850505400456",
        "Причина: an open storage bucket",
        &id,
    ] {
        assert!(
            notice.text.contains(expected),
            "{expected}: {}",
            notice.text
        );
    }
    let timeline = h
        .call(Method::GET, &format!("{path}/timeline"), &analyst, None)
        .await;
    assert!(
        timeline
            .text
            .contains("personal-data breach notice prepared (ru, sha256"),
        "{}",
        timeline.text
    );
}
