//! The console's simple changes, one mechanism for all: a form (rendered from a [`FormView`]) posts to
//! `/console/act/{action}`, whose entry in [`ACTIONS`] turns the fields into one API call; the answer sends the
//! person back to the page they came from, or — when the API hands over something shown once (a one-time
//! password, a webhook secret) — to a page that shows it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::Console;
use crate::api::Failure;
use crate::i18n::Tr;
use crate::pages::{Chrome, Ctx, Form, PageResult, fail, form_api, render, seg, signed};

/// One kind of change: the API call a form's fields make, and what of the answer is shown once.
pub(crate) struct Action {
    pub id: &'static str,
    pub method: Method,
    pub path: fn(&Form) -> String,
    pub body: fn(&Form) -> Value,
    /// Fields of the answer to show once (secrets the API will not give again).
    pub shows: &'static [&'static str],
}

fn tenant_path(form: &Form, rest: &str) -> String {
    format!("/api/v1/tenants/{}{rest}", seg(form.get("tenant")))
}

fn crisis_path(form: &Form, rest: &str) -> String {
    format!("/api/v1/hub/crises/{}{rest}", seg(form.get("crisis")))
}

fn words(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn optional(text: &str) -> Value {
    match text.trim() {
        "" => Value::Null,
        t => json!(t),
    }
}

pub(crate) const ACTIONS: &[Action] = &[
    Action {
        id: "rule-switch",
        method: Method::PUT,
        path: |f| tenant_path(f, &format!("/rules/{}", seg(f.get("rule").trim()))),
        body: |f| json!({"enabled": f.get("enabled") == "true", "reason": f.get("reason")}),
        shows: &[],
    },
    Action {
        id: "user-create",
        method: Method::POST,
        path: |_| "/api/v1/users".into(),
        body: |f| {
            json!({"id": f.get("id").trim(), "display_name": optional(f.get("display_name")),
                   "roles": [f.get("role")], "tenants": words(f.get("tenants"))})
        },
        shows: &["one_time_password"],
    },
    Action {
        id: "asset-create",
        method: Method::POST,
        path: |f| tenant_path(f, "/assets"),
        body: |f| {
            json!({"name": f.get("name").trim(), "product": optional(f.get("product")),
                   "version": optional(f.get("version")), "facility": optional(f.get("facility")),
                   "addresses": words(f.get("addresses"))})
        },
        shows: &[],
    },
    Action {
        id: "contact-create",
        method: Method::POST,
        path: |f| tenant_path(f, "/contacts"),
        body: |f| {
            json!({"role": f.get("role"), "name": f.get("name").trim(), "channel": f.get("channel"),
                   "address": f.get("address").trim(), "language": f.get("language")})
        },
        shows: &["secret"],
    },
    Action {
        id: "risk-create",
        method: Method::POST,
        path: |f| tenant_path(f, "/risks"),
        body: |f| {
            json!({"title": f.get("title").trim(), "threat": f.get("threat").trim(),
                   "likelihood": f.get("likelihood").parse::<u8>().unwrap_or(0),
                   "impact": f.get("impact").parse::<u8>().unwrap_or(0),
                   "treatment": f.get("treatment"), "plan": f.get("plan").trim(), "owner": f.get("owner").trim()})
        },
        shows: &[],
    },
    Action {
        id: "risk-link",
        method: Method::POST,
        path: |f| tenant_path(f, &format!("/incidents/{}/risks", seg(f.get("incident")))),
        body: |f| json!({"risk": f.get("risk")}),
        shows: &[],
    },
    Action {
        id: "incident-assign",
        method: Method::POST,
        path: |f| {
            tenant_path(
                f,
                &format!("/incidents/{}/assignee", seg(f.get("incident"))),
            )
        },
        body: |f| json!({"user": optional(f.get("user"))}),
        shows: &[],
    },
    Action {
        id: "observable-add",
        method: Method::POST,
        path: |f| {
            tenant_path(
                f,
                &format!("/incidents/{}/observables", seg(f.get("incident"))),
            )
        },
        body: |f| json!({"kind": f.get("kind"), "value": f.get("value"), "note": f.get("note").trim()}),
        shows: &[],
    },
    Action {
        id: "crisis-open",
        method: Method::POST,
        path: |_| "/api/v1/hub/crises".into(),
        body: |f| {
            json!({"title": f.get("title").trim(), "reason": f.get("reason").trim(),
                   "level": f.get("level").parse::<u8>().unwrap_or(0)})
        },
        shows: &[],
    },
    Action {
        id: "crisis-member",
        method: Method::POST,
        path: |f| crisis_path(f, "/members"),
        body: |f| {
            json!({"name": f.get("name"), "organization": f.get("organization"),
                   "role": f.get("role"), "contact": f.get("contact")})
        },
        shows: &[],
    },
    Action {
        id: "crisis-task",
        method: Method::POST,
        path: |f| crisis_path(f, "/tasks"),
        body: |f| {
            // Typed in Kazakhstan time; what does not read as a time goes as typed, for the API to name.
            let due = crate::search::from_kz_local(f.get("due"))
                .map_or_else(|| f.get("due").to_owned(), |t| t.to_string());
            json!({"title": f.get("title"), "owner": f.get("owner"), "due": due})
        },
        shows: &[],
    },
    Action {
        id: "crisis-task-done",
        method: Method::POST,
        path: |f| crisis_path(f, &format!("/tasks/{}/done", seg(f.get("task")))),
        body: |_| json!({}),
        shows: &[],
    },
    Action {
        id: "crisis-entry",
        method: Method::POST,
        path: |f| crisis_path(f, "/entries"),
        body: |f| json!({"text": f.get("text")}),
        shows: &[],
    },
    Action {
        id: "crisis-close",
        method: Method::POST,
        path: |f| crisis_path(f, "/close"),
        body: |f| json!({"summary": f.get("summary")}),
        shows: &[],
    },
    Action {
        id: "rule-import",
        method: Method::POST,
        path: |_| "/api/v1/rules/files".into(),
        body: |f| json!({"name": f.get("name").trim(), "text": f.get("text")}),
        shows: &[],
    },
    Action {
        id: "tenant-create",
        method: Method::POST,
        path: |_| "/api/v1/tenants".into(),
        body: |f| {
            json!({"id": f.get("id").trim(), "name": f.get("name").trim(),
                   "sector": Some(f.get("sector")).filter(|s| !s.is_empty())})
        },
        shows: &[],
    },
    Action {
        id: "facility-create",
        method: Method::POST,
        path: |f| tenant_path(f, "/facilities"),
        body: |f| {
            json!({"id": f.get("id").trim(), "name": f.get("name").trim(),
                   "class": f.get("class").parse::<u8>().unwrap_or(0),
                   "critical": f.get("critical") == "true"})
        },
        shows: &[],
    },
    Action {
        id: "source-create",
        method: Method::POST,
        path: |f| tenant_path(f, "/sources"),
        body: |f| {
            json!({"id": f.get("id").trim(), "name": f.get("name").trim(),
                   "facility": optional(f.get("facility")), "format": optional(f.get("format")),
                   "expected_interval_secs": f.get("interval").trim().parse::<u64>().ok()})
        },
        shows: &[],
    },
    Action {
        id: "source-token",
        method: Method::POST,
        path: |f| {
            tenant_path(
                f,
                &format!("/sources/{}/tokens", seg(f.get("source").trim())),
            )
        },
        body: |_| json!({}),
        shows: &["token"],
    },
    Action {
        id: "source-certificate",
        method: Method::POST,
        path: |f| {
            tenant_path(
                f,
                &format!("/sources/{}/certificates", seg(f.get("source").trim())),
            )
        },
        body: |f| {
            json!({"common_name": optional(f.get("common_name")),
                   "fingerprint_sha256": optional(f.get("fingerprint_sha256"))})
        },
        shows: &[],
    },
    Action {
        id: "isoc-register",
        method: Method::POST,
        path: |_| "/api/v1/hub/isocs".into(),
        body: |f| {
            json!({"id": f.get("id").trim(), "name": f.get("name").trim(),
                   "certificate": f.get("certificate")})
        },
        shows: &[],
    },
    Action {
        id: "retention-change",
        method: Method::PUT,
        path: |f| tenant_path(f, "/retention"),
        body: |f| {
            json!({"hot_days": f.get("hot_days").trim().parse::<u32>().unwrap_or(0),
                   "archive_years": f.get("archive_years").trim().parse::<u32>().unwrap_or(0)})
        },
        shows: &[],
    },
    Action {
        id: "contacts-confirm",
        method: Method::POST,
        path: |f| tenant_path(f, "/contacts/confirm"),
        body: |_| json!({}),
        shows: &[],
    },
];

/// A field of a form.
pub(crate) enum Input {
    Text {
        required: bool,
        placeholder: &'static str,
    },
    Choice(Vec<(String, String)>),
    Hidden(String),
    /// Several lines (a rule's YAML).
    Area {
        required: bool,
    },
}

pub(crate) struct Field {
    pub name: &'static str,
    pub label: String,
    pub input: Input,
}

/// A form for one action, with the page to go back to.
pub(crate) struct FormView {
    pub action: &'static str,
    pub title: String,
    pub fields: Vec<Field>,
    pub submit: String,
    pub back: String,
}

impl FormView {
    pub fn new(tr: &Tr<'_>, action: &'static str, title: &str, back: &str) -> Self {
        Self {
            action,
            title: tr.t(title),
            fields: Vec::new(),
            submit: tr.t("apply"),
            back: back.to_owned(),
        }
    }

    pub fn area(mut self, tr: &Tr<'_>, name: &'static str, label: &str, required: bool) -> Self {
        self.fields.push(Field {
            name,
            label: tr.t(label),
            input: Input::Area { required },
        });
        self
    }

    pub fn hidden(mut self, name: &'static str, value: &str) -> Self {
        self.fields.push(Field {
            name,
            label: String::new(),
            input: Input::Hidden(value.to_owned()),
        });
        self
    }

    pub fn text(mut self, tr: &Tr<'_>, name: &'static str, label: &str, required: bool) -> Self {
        self.fields.push(Field {
            name,
            label: tr.t(label),
            input: Input::Text {
                required,
                placeholder: "",
            },
        });
        self
    }

    pub fn hinted(
        mut self,
        tr: &Tr<'_>,
        name: &'static str,
        label: &str,
        placeholder: &'static str,
    ) -> Self {
        self.fields.push(Field {
            name,
            label: tr.t(label),
            input: Input::Text {
                required: false,
                placeholder,
            },
        });
        self
    }

    /// A choice among `(value, label)` pairs.
    pub fn choice(
        mut self,
        tr: &Tr<'_>,
        name: &'static str,
        label: &str,
        options: Vec<(String, String)>,
    ) -> Self {
        self.fields.push(Field {
            name,
            label: tr.t(label),
            input: Input::Choice(options),
        });
        self
    }
}

#[derive(Template)]
#[template(path = "done.html")]
struct DonePage<'a> {
    tr: Tr<'a>,
    c: Chrome,
    shown: Vec<(String, String)>,
    back: String,
}

/// Runs one action with the posted form and sends the person back.
pub(crate) async fn act(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body);
    let Some(action) = ACTIONS.iter().find(|a| a.id == id) else {
        return Err(fail(
            &console,
            ctx.lang,
            Failure {
                status: StatusCode::NOT_FOUND,
                code: "not_found".into(),
                message: format!("console action `{id}`: there is none"),
            },
        ));
    };
    let back = match form.get("back") {
        b if b.starts_with("/console/") && !b.contains("//") => b.to_owned(),
        _ => "/console/".to_owned(),
    };
    let api = form_api(&console, &ctx, &form);
    let body = (action.body)(&form);
    let reply = api
        .send(action.method.clone(), &(action.path)(&form), Some(&body))
        .await
        .map_err(|f| fail(&console, ctx.lang, f))?;
    if action.shows.is_empty() {
        return Ok(Redirect::to(&back).into_response());
    }
    let answer: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    let shown = action
        .shows
        .iter()
        .filter_map(|k| answer[*k].as_str().map(|v| ((*k).to_owned(), v.to_owned())))
        .collect();
    let s = signed(&console, &ctx, "", &back).await?;
    Ok(render(
        &DonePage {
            tr: s.tr,
            c: s.chrome,
            shown,
            back,
        },
        StatusCode::OK,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_api_calls() {
        let form = Form::parse(&Bytes::from_static(
            b"tenant=akimat&rule=r-1&enabled=false&reason=noisy&id=zh&role=analyst&tenants=akimat,+bank&name=portal&addresses=10.0.0.0/24+10.0.1.5",
        ));
        let find = |id| ACTIONS.iter().find(|a| a.id == id).unwrap();
        let rule = find("rule-switch");
        assert_eq!((rule.path)(&form), "/api/v1/tenants/akimat/rules/r-1");
        assert_eq!(
            (rule.body)(&form),
            json!({"enabled": false, "reason": "noisy"})
        );
        let user = find("user-create");
        assert_eq!(
            (user.body)(&form),
            json!({"id": "zh", "display_name": null, "roles": ["analyst"], "tenants": ["akimat", "bank"]})
        );
        let asset = find("asset-create");
        assert_eq!(
            (asset.body)(&form)["addresses"],
            json!(["10.0.0.0/24", "10.0.1.5"])
        );
        assert_eq!((asset.body)(&form)["product"], Value::Null);
        let ids: std::collections::BTreeSet<_> = ACTIONS.iter().map(|a| a.id).collect();
        assert_eq!(ids.len(), ACTIONS.len(), "action ids are unique");
    }
}
