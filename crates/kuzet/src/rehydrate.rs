//! `kuzet rehydrate`: any period of the three years the archive keeps, made searchable again. The sealed records of
//! one tenant whose `@timestamp` falls in the period are read from the archive and indexed into a temporary index,
//! `DATA_DIR/rehydrated/<name>/` (the hot index's layout, `docs/formats/index.md`), that `kuzet search
//! --rehydrated NAME` and `POST /api/v1/search` with `"rehydrated": NAME` search like the hot index. Nothing of the
//! archive changes; `--drop` deletes the temporary index.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use kuzet_index::{IndexConfig, Indexer};
use kuzet_model::TenantId;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct RehydrateArgs {
    /// The tenant whose events to make searchable.
    #[arg(long, required_unless_present = "drop")]
    pub tenant: Option<String>,
    /// The period's start (RFC 3339 or a date, midnight UTC).
    #[arg(long, required_unless_present = "drop")]
    pub from: Option<String>,
    /// The period's end (excluded).
    #[arg(long, required_unless_present = "drop")]
    pub to: Option<String>,
    /// The temporary index's name (default: `<tenant>-<from day>-<to day>`).
    #[arg(long)]
    pub name: Option<String>,
    /// Delete the rehydrated index `--name` instead.
    #[arg(long, requires = "name")]
    pub drop: bool,
}

/// Where rehydrated indexes live.
pub fn dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("rehydrated")
}

/// The directory of the rehydrated index `name`, refusing names that are not plain slugs.
pub fn index_dir(config: &Config, name: &str) -> Result<std::path::PathBuf> {
    kuzet_index::rehydrated_dir(&config.data_dir, name).map_err(anyhow::Error::msg)
}

fn instant(name: &str, text: &str) -> Result<Timestamp> {
    text.parse::<Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .map_err(anyhow::Error::from)
                .and_then(|d| Ok(d.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp()))
        })
        .with_context(|| format!("--{name} `{text}`: expected an RFC 3339 time or a date"))
}

pub fn run(args: &RehydrateArgs, config: &Config) -> Result<()> {
    if args.drop {
        let name = args.name.as_deref().unwrap_or_default();
        let path = index_dir(config, name)?;
        if !path.exists() {
            bail!("no rehydrated index `{name}` in {}", dir(config).display());
        }
        std::fs::remove_dir_all(&path).with_context(|| format!("{}", path.display()))?;
        println!("rehydrated index `{name}` deleted (the archive is unchanged)");
        return Ok(());
    }
    let (Some(tenant), Some(from), Some(to)) = (&args.tenant, &args.from, &args.to) else {
        bail!("--tenant, --from and --to are required");
    };
    let tenant = TenantId::new(tenant.as_str()).with_context(|| format!("--tenant `{tenant}`"))?;
    let (from, to) = (instant("from", from)?, instant("to", to)?);
    if from >= to {
        bail!("the period is empty: {from} is not before {to}");
    }
    let day = |t: Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{tenant}-{}-{}", day(from), day(to)));
    let path = index_dir(config, &name)?;
    if path.exists() {
        bail!(
            "rehydrated index `{name}` exists already: search it, or delete it with --drop --name {name}"
        );
    }
    let archive = config.archive_dir();
    if !archive.join(tenant.as_str()).is_dir() {
        bail!("tenant `{tenant}`: no archive in {}", archive.display());
    }
    let normalizer = crate::serve::Parser::reader(config);
    let mut indexer = Indexer::open(IndexConfig::new(&path))?;
    let progress = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos} sealed events read, {msg} {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let started = Instant::now();
    // Events received up to the search's margin before the period can belong to it (senders' clocks run ahead).
    let since = from
        .checked_sub(kuzet_api::search::RECEIVE_MARGIN)
        .unwrap_or(Timestamp::MIN);
    let mut indexed = 0u64;
    let result = (|| -> Result<()> {
        for record in kuzet_store::read_records_since(&archive, &tenant, since) {
            let record = record?;
            progress.inc(1);
            let position = record
                .fields()
                .map_err(|e| anyhow::anyhow!("tenant `{tenant}`: {e}"))?
                .record_index;
            let event = record
                .event(&*normalizer)
                .map_err(|e| anyhow::anyhow!("tenant `{tenant}` record {position}: {e}"))?;
            if event.timestamp >= from && event.timestamp < to {
                indexer.add(position, &event, Instant::now())?;
                indexed += 1;
                if indexed.is_multiple_of(10_000) {
                    progress.set_message(format!("{indexed} in the period"));
                }
            }
        }
        Ok(())
    })();
    if let Err(error) = result {
        drop(indexer);
        // A half-built index would answer wrongly: nothing is left behind.
        let _ = std::fs::remove_dir_all(&path);
        return Err(error);
    }
    indexer.close()?;
    progress.finish_and_clear();
    println!(
        "rehydrated `{name}`: {indexed} event(s) of `{tenant}` from {from} to {to} ({} read in {:.1} s); search with \
         kuzet search --rehydrated {name} --from {from} --to {to} 'QUERY'",
        progress.position(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
