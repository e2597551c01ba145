//! `kuzet intel pull`: reads a TAXII 2.1 collection (a MISP or OpenCTI TAXII server, NCCIS, another Kuzet) into
//! a STIX 2.1 bundle file that `[detection] indicators` loads.

use std::path::PathBuf;
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
    let pulled = runtime.block_on(client.pull(collection, after))?;
    let pages = pulled.pages;
    let indicators = pulled
        .objects
        .iter()
        .filter(|o| o["type"] == "indicator")
        .count();
    let pulled_count = pulled.objects.len();
    // A pull since an instant adds to what the feed holds (a newer version of an object replaces it); a whole
    // pull replaces the feed, so that what the server withdrew leaves it too.
    let objects = if after.is_some() {
        merge(previous(out)?, pulled.objects)
    } else {
        pulled.objects
    };
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": stix::derived_id("bundle", &format!("{collection} {}", pulled.last_added.map(|t| t.to_string()).unwrap_or_default())),
        "objects": objects,
    });
    let text = serde_json::to_string_pretty(&bundle)?;
    // What detection will make of it, said now rather than at the next start.
    let mut set = kuzet_detect::IndicatorSet::new();
    set.add_stix(&out.display().to_string(), &text);
    let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) else {
        bail!("--out {}: name a file", out.display());
    };
    let temporary = parent.join(format!(
        ".{}.partial",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("bundle")
    ));
    std::fs::write(&temporary, text.as_bytes())
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, out).with_context(|| format!("replacing {}", out.display()))?;
    println!(
        "pulled {pulled_count} objects ({indicators} indicators) in {} pages from {collection} into {} ({} objects in it now)",
        pages,
        out.display(),
        bundle["objects"].as_array().map_or(0, Vec::len),
    );
    println!(
        "detection will load {} indicator values; {} not loadable",
        set.len(),
        set.problems().len()
    );
    for problem in set.problems().iter().take(20) {
        println!("  {problem}");
    }
    if let Some(last) = pulled.last_added {
        println!("last added {last}: pull again with --since {last}");
    }
    Ok(())
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
