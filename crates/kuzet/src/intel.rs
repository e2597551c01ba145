//! `kuzet intel pull`: reads a TAXII 2.1 collection (a MISP or OpenCTI TAXII server, NCCIS, another Kuzet) into
//! a STIX 2.1 bundle file that `[detection] indicators` loads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kuzet_exchange::stix;
use kuzet_exchange::taxii_client::{Credentials, TaxiiClient};

#[derive(Debug, clap::Subcommand)]
pub enum IntelCommand {
    /// Reads every object of a TAXII 2.1 collection into a STIX 2.1 bundle (replaced whole, never half-written).
    Pull {
        /// The collection's URL (`https://…/taxii2/{root}/collections/{id}/`).
        #[arg(long)]
        collection: String,
        /// The bundle file to write (a feed for `[detection] indicators`).
        #[arg(long)]
        out: PathBuf,
        /// The environment variable holding a bearer token (a Kuzet API token, an OpenCTI token), when set.
        #[arg(long, default_value = "KUZET_TAXII_TOKEN")]
        token_env: String,
        /// HTTP basic authentication as this user; the password is read from KUZET_TAXII_PASSWORD.
        #[arg(long)]
        user: Option<String>,
        /// Trust only this CA (PEM) for the server's certificate, instead of the system's.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Only objects the server added after this instant (RFC 3339): what `last added` said last time.
        #[arg(long)]
        since: Option<String>,
    },
}

pub fn run(command: &IntelCommand) -> Result<()> {
    let IntelCommand::Pull {
        collection,
        out,
        token_env,
        user,
        ca,
        since,
    } = command;
    let credentials = match (
        user,
        std::env::var(token_env).ok().filter(|t| !t.is_empty()),
    ) {
        (Some(user), _) => Credentials::Basic {
            user: user.clone(),
            password: std::env::var("KUZET_TAXII_PASSWORD")
                .context("--user: set KUZET_TAXII_PASSWORD to the password")?,
        },
        (None, Some(token)) => Credentials::Bearer(token),
        (None, None) => Credentials::None,
    };
    let after = since
        .as_deref()
        .map(|s| {
            s.parse::<jiff::Timestamp>()
                .with_context(|| format!("--since `{s}`: not an RFC 3339 instant"))
        })
        .transpose()?;
    let client = TaxiiClient::new(ca.as_deref(), credentials, Duration::from_secs(60))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let pulled = runtime.block_on(pull_into(&client, collection, out, after))?;
    println!(
        "pulled {} objects ({} indicators) in {} pages from {collection} into {} ({} objects in it now)",
        pulled.objects,
        pulled.indicators,
        pulled.pages,
        out.display(),
        pulled.total,
    );
    println!(
        "detection will load {} indicator values; {} not loadable",
        pulled.loadable,
        pulled.problems.len()
    );
    for problem in pulled.problems.iter().take(20) {
        println!("  {problem}");
    }
    if let Some(last) = pulled.last_added {
        println!("last added {last}: pull again with --since {last}");
    }
    Ok(())
}

/// What one pull did.
#[derive(Debug)]
pub struct Pulled {
    pub objects: usize,
    pub indicators: usize,
    pub pages: usize,
    /// Objects the feed file holds now.
    pub total: usize,
    /// Indicator values detection will load from it, and what it cannot.
    pub loadable: usize,
    pub problems: Vec<String>,
    pub last_added: Option<jiff::Timestamp>,
}

/// Reads `collection` (what was added after `after`, or everything) into the bundle file `out`: merged by id into
/// what it holds after an instant, else replaced whole; written beside it and renamed, never half-written.
pub async fn pull_into(
    client: &TaxiiClient,
    collection: &str,
    out: &Path,
    after: Option<jiff::Timestamp>,
) -> Result<Pulled> {
    let pulled = client.pull(collection, after).await?;
    let pages = pulled.pages;
    let indicators = pulled
        .objects
        .iter()
        .filter(|o| o["type"] == "indicator")
        .count();
    let count = pulled.objects.len();
    // A pull since an instant adds to what the feed holds (a newer version of an object replaces it); a whole
    // pull replaces the feed, so that what the server withdrew leaves it too.
    let objects = if after.is_some() {
        merge(previous(out)?, pulled.objects)
    } else {
        pulled.objects
    };
    let total = objects.len();
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": stix::derived_id("bundle", &format!("{collection} {}", pulled.last_added.map(|t| t.to_string()).unwrap_or_default())),
        "objects": objects,
    });
    let text = serde_json::to_string_pretty(&bundle)?;
    // What detection will make of it, said now rather than when it reads the file.
    let mut set = kuzet_detect::IndicatorSet::new();
    set.add_stix(&out.display().to_string(), &text);
    write_whole(out, &text)?;
    Ok(Pulled {
        objects: count,
        indicators,
        pages,
        total,
        loadable: set.len(),
        problems: set.problems().iter().map(ToString::to_string).collect(),
        last_added: pulled.last_added.or(after),
    })
}

/// Writes `text` beside `out` and renames it into place: a reader sees the old file or the new one.
fn write_whole(out: &Path, text: &str) -> Result<()> {
    let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) else {
        bail!("{}: name a file in a directory", out.display());
    };
    let temporary = parent.join(format!(
        ".{}.partial",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("bundle")
    ));
    std::fs::write(&temporary, text.as_bytes())
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, out).with_context(|| format!("replacing {}", out.display()))
}

/// Makes sure a feed a scheduled pull fills exists before detection reads it: an empty bundle until the first
/// pull.
pub fn prepare_feed(out: &Path) -> Result<()> {
    if out.exists() {
        return Ok(());
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let empty =
        serde_json::json!({"type": "bundle", "id": stix::derived_id("bundle", ""), "objects": []});
    write_whole(out, &empty.to_string())
}

/// The TAXII collections `[[detection.taxii]]` names, pulled every `interval` into their feed files until
/// `shutdown` (detection reads a changed file by itself). The first pull reads everything, the next ones what was
/// added since; each is sealed in the audit trail as `intel.pull`.
pub async fn run_pulls(
    feeds: Vec<crate::config::TaxiiFeed>,
    audit: std::sync::Arc<dyn kuzet_api::AuditSink>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tasks = Vec::new();
    for feed in feeds {
        let (audit, shutdown) = (audit.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            let client = match feed.client() {
                Ok(client) => client,
                Err(error) => {
                    tracing::error!(collection = %feed.collection, error = format!("{error:#}"), "taxii feed not pulled");
                    return;
                }
            };
            let out = PathBuf::from(&feed.out);
            let mut since = None;
            let mut passes = crate::clocks::Passes::new(feed.interval.std(), shutdown);
            while passes.next().await {
                let pulled = pull_into(&client, &feed.collection, &out, since).await;
                let now = jiff::Timestamp::now();
                let (outcome, detail) = match &pulled {
                    Ok(p) => {
                        since = p.last_added.or(since);
                        (
                            kuzet_model::audit::Outcome::Success,
                            format!(
                                "{} objects ({} indicators) into {}; {} loadable, {} not",
                                p.objects,
                                p.indicators,
                                out.display(),
                                p.loadable,
                                p.problems.len()
                            ),
                        )
                    }
                    Err(error) => {
                        tracing::warn!(collection = %feed.collection, error = format!("{error:#}"), "taxii pull failed; tried again next pass");
                        (kuzet_model::audit::Outcome::Failure, format!("{error:#}"))
                    }
                };
                let record = crate::identity::process_record(now, "intel", "intel.pull", outcome)
                    .object(format!("taxii:{}", feed.collection))
                    .detail(detail)
                    .bounded();
                if let Err(error) = audit.append(record).await {
                    tracing::error!(%error, "the audit record of a taxii pull could not be sealed");
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// The objects of the feed a previous pull wrote, or none when there is no such file yet.
fn previous(out: &std::path::Path) -> Result<Vec<serde_json::Value>> {
    let text = match std::fs::read_to_string(out) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", out.display())),
    };
    let bundle: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a STIX bundle a pull wrote", out.display()))?;
    Ok(bundle["objects"].as_array().cloned().unwrap_or_default())
}

/// `old` with `new` added: an object whose id is already there replaces it when its version is not older.
fn merge(old: Vec<serde_json::Value>, new: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    let version = |o: &serde_json::Value| {
        o.get("modified")
            .or_else(|| o.get("created"))
            .and_then(serde_json::Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    let mut out = old;
    for object in new {
        match out.iter_mut().find(|o| o.get("id") == object.get("id")) {
            Some(kept) if version(kept) <= version(&object) => *kept = object,
            Some(_) => {}
            None => out.push(object),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge;

    #[test]
    fn a_pull_since_adds_and_updates_by_id() {
        let old = vec![
            json!({"id": "indicator--a", "modified": "2026-12-01T00:00:00Z", "name": "old"}),
            json!({"id": "indicator--b", "modified": "2026-12-05T00:00:00Z", "name": "kept"}),
        ];
        let new = vec![
            json!({"id": "indicator--a", "modified": "2026-12-02T00:00:00Z", "name": "newer"}),
            json!({"id": "indicator--b", "modified": "2026-12-01T00:00:00Z", "name": "older"}),
            json!({"id": "indicator--c", "modified": "2026-12-02T00:00:00Z", "name": "added"}),
        ];
        let names: Vec<_> = merge(old, new).iter().map(|o| o["name"].clone()).collect();
        assert_eq!(names, [json!("newer"), json!("kept"), json!("added")]);
    }
}
