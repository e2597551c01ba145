//! `kuzet search`: the analyst query language over the sealed events, from the operator's shell — the same search
//! as `POST /api/v1/search` (`kuzet_api::search`), over every tenant of the archive or the ones named.

use std::io::Write as _;

use anyhow::{Context, Result, anyhow, bail};
use kuzet_api::search::{DEFAULT_PAGE, MAX_PAGE, SearchRequest, search};
use kuzet_index::{Key, Order};
use kuzet_model::TenantId;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The query (docs/query.md), e.g. 'event.code:4625 AND source.ip:10.0.0.0/8'; '' or '*' for every event.
    pub query: String,
    /// Only this tenant (repeatable); default: every tenant in the archive.
    #[arg(long)]
    pub tenant: Vec<String>,
    /// Events whose @timestamp is within this long before `--to` (e.g. 15m, 24h, 30d).
    #[arg(long, default_value = "24h", conflicts_with = "from")]
    pub since: String,
    /// The range's start (RFC 3339), instead of `--since`.
    #[arg(long)]
    pub from: Option<String>,
    /// The range's end (RFC 3339, excluded); default: now.
    #[arg(long)]
    pub to: Option<String>,
    /// Events to print.
    #[arg(long, default_value_t = DEFAULT_PAGE)]
    pub size: usize,
    /// Oldest first (default: newest first).
    #[arg(long)]
    pub oldest: bool,
    /// Continue after the cursor a previous search printed.
    #[arg(long)]
    pub cursor: Option<String>,
    /// table (time, tenant, host, message), json (one document) or ndjson (one ECS event a line).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Read the archive instead of the hot index (slower; finds events older than the hot window too).
    #[arg(long)]
    pub scan: bool,
    /// Search the temporary index `kuzet rehydrate` built under this name instead of the hot index.
    #[arg(long, conflicts_with = "scan")]
    pub rehydrated: Option<String>,
    /// Print how the index asks for the query (and whether that is exact) instead of searching.
    #[arg(long)]
    pub explain: bool,
}

pub fn run(args: &SearchArgs, config: &Config) -> Result<()> {
    if !matches!(args.format.as_str(), "table" | "json" | "ndjson") {
        bail!("--format `{}`: expected table, json or ndjson", args.format);
    }
    if args.size == 0 || args.size > MAX_PAGE {
        bail!("--size {}: expected 1 to {MAX_PAGE}", args.size);
    }
    let query =
        kuzet_query::parse(&args.query).map_err(|e| anyhow!("{e}\n{}", e.pointer(&args.query)))?;
    if args.explain {
        let (plan, exact) = kuzet_index::explain(&query)?;
        println!("query: {query}");
        println!(
            "{}",
            if exact {
                "exact: the index finds exactly the matches"
            } else {
                "superset: the index proposes events and each is checked against the query"
            }
        );
        println!("{plan}");
        return Ok(());
    }
    let time = |name: &str, value: &str| -> Result<jiff::Timestamp> {
        value
            .parse()
            .with_context(|| format!("--{name} `{value}`: expected an RFC 3339 time"))
    };
    let to = match &args.to {
        Some(t) => time("to", t)?,
        None => jiff::Timestamp::now(),
    };
    let from = match &args.from {
        Some(f) => time("from", f)?,
        None => {
            let since = crate::config::parse_duration(&args.since).context("--since")?;
            to.checked_sub(since.0).context("--since: too far back")?
        }
    };
    if from >= to {
        bail!("the range is empty: {from} is not before {to}");
    }
    let archive = config.archive_dir();
    let tenants: Vec<TenantId> = if args.tenant.is_empty() {
        let mut all: Vec<TenantId> = std::fs::read_dir(&archive)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| {
                        TenantId::new(e.file_name().to_string_lossy().into_owned()).ok()
                    })
                    .filter(|t| !t.is_reserved())
                    .collect()
            })
            .unwrap_or_default();
        all.sort();
        all
    } else {
        args.tenant
            .iter()
            .map(|t| TenantId::new(t.as_str()).with_context(|| format!("--tenant `{t}`")))
            .collect::<Result<_>>()?
    };
    let request = SearchRequest {
        query,
        from,
        to,
        size: args.size,
        order: if args.oldest {
            Order::Oldest
        } else {
            Order::Newest
        },
        after: args
            .cursor
            .as_deref()
            .map(Key::parse)
            .transpose()
            .map_err(|e| anyhow!("--cursor: {e}"))?,
        histogram: None,
        values: Vec::new(),
    };
    let started = std::time::Instant::now();
    // The index a server keeps under the data directory, unless asked to read the archive.
    let index = match &args.rehydrated {
        Some(name) => {
            let dir = crate::rehydrate::index_dir(config, name)?;
            if !dir.is_dir() {
                bail!("--rehydrated `{name}`: no such index (make it with kuzet rehydrate)");
            }
            Some(kuzet_index::IndexSearcher::open(dir))
        }
        None => {
            let dir = config.index_dir();
            (!args.scan && dir.is_dir()).then(|| kuzet_index::IndexSearcher::open(dir))
        }
    };
    let page = search(
        &archive,
        index.as_ref(),
        &tenants,
        &crate::serve::Parser::reader(config),
        &request,
    )?
    .page;
    let took = started.elapsed();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format.as_str() {
        "ndjson" => {
            for (_, event) in &page.events {
                serde_json::to_writer(&mut out, &event.to_ecs_json())?;
                out.write_all(b"\n")?;
            }
        }
        "json" => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({
                    "total": page.total,
                    "total_exact": page.total_exact,
                    "events": page.events.iter().map(|(_, e)| e.to_ecs_json()).collect::<Vec<_>>(),
                    "next": page.next.map(|c| c.to_string()),
                    "read": page.read,
                    "index": index.is_some(),
                }),
            )?;
            out.write_all(b"\n")?;
        }
        _ => {
            for (_, event) in &page.events {
                let host = event.fields.get_str("host.name").unwrap_or("-");
                let message = event
                    .fields
                    .get_str("message")
                    .map(str::to_owned)
                    .unwrap_or_else(|| event.original_lossy().into_owned());
                let message: String = message.chars().take(160).collect();
                writeln!(
                    out,
                    "{}  {}  {}  {}",
                    kuzet_model::time::kz_local(event.timestamp).strftime("%Y-%m-%d %H:%M:%S"),
                    event.tenant,
                    host,
                    message.replace(['\n', '\r'], " ")
                )?;
            }
            writeln!(
                out,
                "{} of {}{} matching event(s) shown ({} read {} in {:.2} s; times in Kazakhstan time){}",
                page.events.len(),
                if page.total_exact { "" } else { "at most " },
                page.total,
                page.read,
                if index.is_some() {
                    "through the index"
                } else {
                    "from the archive"
                },
                took.as_secs_f64(),
                page.next
                    .map(|c| format!("; more with --cursor {c}"))
                    .unwrap_or_default()
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
