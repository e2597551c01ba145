//! `kuzet`: the Operational Information Security Center in one binary. This crate is wiring only — the CLI, the
//! configuration file, telemetry and the demo; the work is done by the library crates.

mod bench;
mod bench_search;
mod cli_files;
mod clocks;
mod config;
mod demo;
mod detection;
mod disk;
mod exchange;
mod expiry;
mod generate;
mod health;
mod hub;
mod hunt;
mod identity;
mod indexing;
mod intel;
mod keys;
mod notify;
mod pki;
mod rehydrate;
mod response;
mod search_cli;
mod serve;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::config::Config;

/// The sealer allocates and frees many small maps per event; glibc's allocator spent a quarter of its time in
/// malloc/free/consolidate under the ingest benchmark, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "kuzet", version, about = "Kuzet — an Operational Information Security Center", long_about = None)]
struct Cli {
    /// Configuration file (TOML). Without it: $KUZET_CONFIG, then ./kuzet.toml if present, else the defaults.
    #[arg(long, global = true, env = "KUZET_CONFIG")]
    config: Option<PathBuf>,
    /// Overrides `data_dir` from the configuration.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the listeners, the write-ahead log and the sealed archive until interrupted.
    Serve {
        /// Demo mode: a local data directory, demo tenants and sources, and a generator of realistic traffic.
        #[arg(long)]
        demo: bool,
        /// `isoc` (the default) or `nccis`: also the NCCIS hub, listening for ISOCs at `[hub] listen`.
        #[arg(long, default_value = "isoc")]
        role: String,
    },
    /// Certificates for the NCCIS exchange and TLS listeners: a small CA, server and client certificates.
    Pki {
        #[command(subcommand)]
        command: pki::PkiCommand,
    },
    /// Threat intelligence from elsewhere: `pull` reads a TAXII 2.1 collection into a STIX bundle feed.
    Intel {
        #[command(subcommand)]
        command: intel::IntelCommand,
    },
    /// The NCCIS hub's registry of ISOCs and the messages they sent.
    Hub {
        #[command(subcommand)]
        command: hub::HubCommand,
    },
    /// Creates the data directory, the Ed25519 key that signs archive checkpoints, the database, and the first
    /// administrator (its one-time password is printed once).
    Init,
    /// Prints the sealed audit trail: who did what, when, to which tenant, and how it ended.
    Audit {
        /// Only this user's actions.
        #[arg(long)]
        user: Option<String>,
        /// Only this action, or a prefix ending in `.` (e.g. `auth.`).
        #[arg(long)]
        action: Option<String>,
        /// success, failure or refused.
        #[arg(long)]
        outcome: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        /// From this instant (RFC 3339, e.g. 2026-12-01T00:00:00+05:00).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Imports files (NDJSON, syslog text, CEF, EVTX) into the archive of one source, through the write-ahead log.
    Ingest {
        /// The tenant the events belong to.
        #[arg(long)]
        tenant: String,
        /// The source (of that tenant) the events come from.
        #[arg(long)]
        source: String,
        /// auto (by extension and content), ndjson, syslog, cef, leef, evtx, text.
        #[arg(long, default_value = "auto")]
        format: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Verifies the sealed archive offline: every record, block, segment chain and checkpoint signature. Exits 0 only
    /// when everything is intact.
    Verify {
        /// The public key to check signatures with; default: the data directory's copy. Keep your own copy: a
        /// verifier should not trust a key stored beside what it verifies.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Verify this archive directory instead of the data directory's (e.g. the backup copy).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// Checkpoint lines kept outside the archive (copies of `checkpoints.log` taken off the host): each must
        /// still hold, so that cutting a log together with its own checkpoints (a rollback) is detected.
        #[arg(long = "checkpoints", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints an inclusion proof of an event against a signed checkpoint, after verifying it; with `--check`,
    /// verifies a saved proof offline instead (no archive needed, only the public key).
    Prove {
        #[arg(required_unless_present = "check")]
        event_id: Option<String>,
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// A proof saved from `kuzet prove`, to verify.
        #[arg(long, conflicts_with = "event_id")]
        check: Option<PathBuf>,
    },
    /// Evidence: sealed events with their inclusion proofs in a signed bundle.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Verifies an evidence bundle offline: signature, file hashes, every inclusion proof. Exits 0 only when intact.
    VerifyBundle {
        bundle: PathBuf,
        /// The sealing public key; default: the data directory's copy.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Writes a tenant's sealed events as ECS NDJSON to standard output.
    Export {
        #[arg(long)]
        tenant: String,
        /// Only the events received on this day in Kazakhstan time (YYYY-MM-DD): one day's logs (R5).
        #[arg(long)]
        day: Option<String>,
        /// Print each record as stored (the event's bytes as received and their envelope) instead of the
        /// normalized event derived from it.
        #[arg(long)]
        stored: bool,
    },
    /// Prints the API's OpenAPI 3.1 document (also served at /api/v1/openapi.json).
    Openapi,
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Runs Sigma rules over EVTX, NDJSON and syslog files offline and prints every (rule, event) hit.
    Hunt(hunt::HuntArgs),
    /// Searches the sealed events with the query language (docs/query.md), newest first.
    Search(search_cli::SearchArgs),
    /// Makes a period of one tenant's archive searchable again in a temporary index (beyond the hot window).
    Rehydrate(rehydrate::RehydrateArgs),
    /// Removes archive segments whose retention (each tenant's `archive_years`, at least three) has ended, each
    /// after a signed tombstone that `kuzet verify` checks; seals an `archive.expire` audit record per segment. The
    /// server does this every `store.expiry_interval`; run it by hand only while the server is stopped.
    Expire {
        /// Expire as of this instant (RFC 3339) instead of now: what is due then is removed.
        #[arg(long)]
        at: Option<String>,
    },
    /// Prints a tenant's alerts, newest first.
    Alerts {
        #[arg(long)]
        tenant: String,
        /// Only alerts in this triage state: new, acknowledged, false_positive, escalated.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sigma rules: check that they load, run their sample events.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Benchmarks of the whole system, each beside a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Stores Sigma rule files or directories (e.g. a SigmaHQ checkout) in the database, a new version for each
    /// changed file; `kuzet serve` runs the latest versions beside the configured rules. Exits 1 when a rule does
    /// not load (it is stored anyway, and named).
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Loads rule files or directories and prints every rule that cannot load, by file and id, with the reason.
    /// Exits 1 when there is one.
    Lint {
        #[arg(required_unless_present = "builtin")]
        paths: Vec<PathBuf>,
        /// Kuzet's own rule pack.
        #[arg(long)]
        builtin: bool,
        /// A Sigma pipeline file instead of the built-in one.
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
    /// Runs each rule's sample events (`samples: {match: […], no_match: […]}`) and prints every one that does not do
    /// what it says. Exits 1 when one fails or a rule cannot load.
    Test {
        #[arg(required_unless_present = "builtin")]
        paths: Vec<PathBuf>,
        /// Kuzet's own rule pack.
        #[arg(long)]
        builtin: bool,
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum EvidenceCommand {
    /// Writes a bundle of chosen events (their proofs, a manifest with hashes and custody, a signature) to a new
    /// directory.
    Export {
        #[arg(long)]
        tenant: String,
        /// The incident or case the evidence is for.
        #[arg(long)]
        case: String,
        /// Why the evidence leaves (recorded in the custody).
        #[arg(long)]
        reason: String,
        /// Take the incident's attached events and its chain of custody from the database (and record the export).
        #[arg(long)]
        incident: Option<String>,
        /// Every event of the tenant received on this day in Kazakhstan time (YYYY-MM-DD): one day's logs (R5).
        #[arg(long)]
        day: Option<String>,
        #[arg(long = "event", required_unless_present_any = ["incident", "day"])]
        events: Vec<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Prints the default configuration with every setting documented.
    Default,
    /// Checks a configuration file and prints what it configures.
    Check,
}

/// A `--day` argument: a date in Kazakhstan time.
fn local_day(day: Option<&str>) -> Result<Option<jiff::civil::Date>> {
    day.map(|d| {
        d.parse::<jiff::civil::Date>()
            .map_err(|e| anyhow::anyhow!("--day `{d}`: {e} (expected YYYY-MM-DD)"))
    })
    .transpose()
}

fn load_config(cli: &Cli) -> Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None if std::path::Path::new("kuzet.toml").exists() => {
            Config::load(std::path::Path::new("kuzet.toml"))?
        }
        None => Config::default(),
    };
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

fn main() -> Result<()> {
    match run() {
        // A reader that stops early (`kuzet export | head`) is not an error.
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
                    || cause
                        .downcast_ref::<serde_json::Error>()
                        .and_then(|e| e.io_error_kind())
                        == Some(std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(())
        }
        other => other,
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUZET_LOG")
                .unwrap_or_else(|_| // The evtx decoder logs every chunk at info.
                tracing_subscriber::EnvFilter::new("info,evtx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match &cli.command {
        Command::Serve { demo: true, .. } => demo::run(cli.data_dir.clone()),
        Command::Serve { demo: false, role } => {
            let role = serve::Role::parse(role)?;
            serve::run_as(load_config(&cli)?, role)
        }
        Command::Pki { command } => pki::run(command),
        Command::Intel { command } => intel::run(command),
        Command::Hub { command } => hub::cli(&load_config(&cli)?, command),
        Command::Init => {
            let config = load_config(&cli)?;
            keys::init(&config)?;
            identity::init_database(&config)
        }
        Command::Audit {
            user,
            action,
            outcome,
            tenant,
            since,
            until,
            json,
        } => {
            let instant = |name: &str, value: &Option<String>| -> Result<Option<jiff::Timestamp>> {
                value
                    .as_deref()
                    .map(|v| {
                        v.parse()
                            .with_context(|| format!("--{name} `{v}`: not an RFC 3339 instant"))
                    })
                    .transpose()
            };
            let filter = kuzet_model::audit::AuditFilter {
                user: user.as_deref().map(kuzet_model::UserId::new).transpose()?,
                action: action.clone(),
                outcome: match outcome.as_deref() {
                    None => None,
                    Some("success") => Some(kuzet_model::audit::Outcome::Success),
                    Some("failure") => Some(kuzet_model::audit::Outcome::Failure),
                    Some("refused") => Some(kuzet_model::audit::Outcome::Refused),
                    Some(other) => {
                        anyhow::bail!("--outcome `{other}`: success, failure or refused")
                    }
                },
                tenant: tenant
                    .as_deref()
                    .map(kuzet_model::TenantId::new)
                    .transpose()?,
                since: instant("since", since)?,
                until: instant("until", until)?,
            };
            identity::print_audit(&load_config(&cli)?, &filter, *json)
        }
        Command::Ingest {
            tenant,
            source,
            format,
            files,
        } => cli_files::ingest(&load_config(&cli)?, tenant, source, format, files),
        Command::Verify {
            public_key,
            archive,
            checkpoints,
            json,
        } => {
            let config = load_config(&cli)?;
            let intact = cli_files::verify(
                &config,
                public_key.as_deref(),
                archive.as_deref(),
                checkpoints,
                *json,
            )?;
            if !intact {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Prove {
            event_id,
            public_key,
            check,
        } => match (event_id, check) {
            (_, Some(proof)) => {
                cli_files::check_proof(&load_config(&cli)?, proof, public_key.as_deref())
            }
            (Some(event_id), None) => {
                cli_files::prove(&load_config(&cli)?, event_id, public_key.as_deref())
            }
            (None, None) => Err(anyhow::anyhow!("prove: give an event id or --check PROOF")),
        },
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&kuzet_api::openapi_document())?
            );
            Ok(())
        }
        Command::Export {
            tenant,
            day,
            stored,
        } => cli_files::export(
            &load_config(&cli)?,
            tenant,
            local_day(day.as_deref())?,
            *stored,
        ),
        Command::Evidence {
            command:
                EvidenceCommand::Export {
                    tenant,
                    case,
                    reason,
                    incident,
                    day,
                    events,
                    out,
                },
        } => cli_files::evidence_export(
            &load_config(&cli)?,
            cli_files::EvidenceRequest {
                tenant,
                case,
                incident: incident.as_deref(),
                day: local_day(day.as_deref())?,
                events,
                reason,
            },
            out,
        ),
        Command::VerifyBundle { bundle, public_key } => {
            if !cli_files::verify_bundle(&load_config(&cli)?, bundle, public_key.as_deref())? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Default,
        } => {
            print!("{}", config::DEFAULT_CONFIG);
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            let config = load_config(&cli)?;
            let directory = config.directory().context("configuration")?;
            println!(
                "configuration ok: data_dir {}, {} tenant(s), {} facility(ies), {} source(s)",
                config.data_dir.display(),
                directory.tenants().len(),
                directory.facilities().len(),
                directory.sources().len()
            );
            Ok(())
        }
        Command::Hunt(args) => hunt::hunt(args, &load_config(&cli)?),
        Command::Search(args) => search_cli::run(args, &load_config(&cli)?),
        Command::Rehydrate(args) => rehydrate::run(args, &load_config(&cli)?),
        Command::Expire { at } => expiry::run_cli(&load_config(&cli)?, at.as_deref()),
        Command::Alerts {
            tenant,
            status,
            limit,
            json,
        } => detection::print_alerts(
            &load_config(&cli)?,
            tenant,
            status.as_deref(),
            *limit,
            *json,
        ),
        Command::Rules { command } => {
            let passed = match command {
                RulesCommand::Import { paths } => hunt::import(&load_config(&cli)?, paths)?,
                RulesCommand::Lint {
                    paths,
                    builtin,
                    pipeline,
                } => hunt::lint(paths, *builtin, pipeline.as_deref())?,
                RulesCommand::Test {
                    paths,
                    builtin,
                    pipeline,
                } => hunt::test(paths, *builtin, pipeline.as_deref())?,
            };
            if !passed {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bench { command } => bench::run(command),
    }
}
