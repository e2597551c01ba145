//! The offline commands: `ingest` (files through the WAL into the archive), `verify`, `prove`, `export`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use kuzet_model::{EventId, FormatHint, RawEvent, SourceId, TenantId, Transport};

use crate::config::Config;
use crate::health::SourceHealth;
use crate::serve;
use kuzet_store::format::PUBLIC_KEY_FILE;

/// How many events one WAL batch of a file import holds.
const IMPORT_BATCH: usize = 2048;

/// What a file holds, decided from the `--format` flag, the extension and the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Evtx,
    /// One event per line, each read with this hint.
    Lines(FormatHint),
}

pub(crate) fn file_kind(
    path: &Path,
    head: &[u8],
    flag: &str,
    source_format: FormatHint,
) -> Result<FileKind> {
    let by_flag = match flag {
        "auto" => None,
        "evtx" => Some(FileKind::Evtx),
        "ndjson" | "json" => Some(FileKind::Lines(FormatHint::Json)),
        other => Some(FileKind::Lines(FormatHint::parse_name(other).ok_or_else(
            || {
                anyhow!(
                    "--format `{other}`: expected auto, ndjson, syslog, cef, leef, evtx or text"
                )
            },
        )?)),
    };
    if let Some(kind) = by_flag {
        return Ok(kind);
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    Ok(
        if head.starts_with(b"ElfFile\0") || name.ends_with(".evtx") {
            FileKind::Evtx
        } else if name.ends_with(".json")
            || name.ends_with(".ndjson")
            || name.ends_with(".jsonl")
            || head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        {
            FileKind::Lines(FormatHint::Json)
        } else {
            FileKind::Lines(source_format)
        },
    )
}

/// Reads a file whole, gunzipping `.gz` files.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{}: not valid gzip", path.display()))?;
        return Ok(out);
    }
    Ok(bytes)
}

pub fn ingest(
    config: &Config,
    tenant: &str,
    source: &str,
    format: &str,
    files: &[PathBuf],
) -> Result<()> {
    let directory = crate::identity::load_directory(config)?;
    let tenant = TenantId::new(tenant)?;
    let source_id = SourceId::new(source)?;
    let source = directory.source(&source_id).ok_or_else(|| {
        anyhow!("source `{source_id}`: neither in the configuration nor created through the API")
    })?;
    if source.tenant != tenant {
        bail!(
            "source `{source_id}` belongs to tenant `{}`, not `{tenant}`",
            source.tenant
        );
    }
    let health = SourceHealth::new(&directory);
    // Imported files are history: their distance from the import time says nothing about the sender's clock.
    let options = kuzet_parse::ParseOptions {
        max_skew: jiff::SignedDuration::MAX,
        ..serve::parse_options(config)
    };
    let _lock = serve::lock_data_dir(config)?;
    let store = serve::open_store(config, options, health.clone())?;
    let wal = store.wal();
    let ids = kuzet_ingest::IdGenerator::new()?;
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let progress = indicatif::ProgressBar::new(total_bytes).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut events = 0u64;
    let mut damaged = 0u64;
    for path in files {
        let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bytes = read_file(path)?;
        let kind = file_kind(path, &bytes[..bytes.len().min(64)], format, source.format)?;
        progress.set_message(path.display().to_string());
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let mut push =
            |payload: Vec<u8>, hint: FormatHint, batch: &mut Vec<RawEvent>| -> Result<()> {
                let received = kuzet_ingest::receive_time();
                batch.push(RawEvent {
                    id: ids.next(received),
                    tenant: tenant.clone(),
                    source: source_id.clone(),
                    received,
                    transport: Transport::File,
                    peer: None,
                    format: hint,
                    bytes: payload,
                });
                events += 1;
                if batch.len() >= IMPORT_BATCH {
                    wal.append_blocking(std::mem::take(batch))?;
                }
                Ok(())
            };
        match kind {
            FileKind::Evtx => {
                for record in kuzet_parse::evtx::records(bytes) {
                    match record {
                        Ok(json) => push(json, FormatHint::Evtx, &mut batch)?,
                        Err(error) => {
                            damaged += 1;
                            progress.println(format!("{}: {error}", path.display()));
                        }
                    }
                }
            }
            FileKind::Lines(hint) => {
                for line in bytes.split(|b| *b == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    push(line.to_vec(), hint, &mut batch)?;
                }
            }
        }
        if !batch.is_empty() {
            wal.append_blocking(batch)?;
        }
        progress.inc(file_len);
    }
    progress.finish_and_clear();
    store.shutdown()?;
    let (sealed, with_issues) = health
        .snapshot()
        .into_iter()
        .find(|(id, _)| *id == source_id)
        .map(|(_, state)| (state.events, state.events_with_issues))
        .unwrap_or_default();
    println!(
        "{} file(s): {events} event(s) read, {sealed} sealed into tenant `{tenant}` source `{source_id}`, \
         {with_issues} with parse issues, {damaged} damaged record(s) skipped",
        files.len()
    );
    Ok(())
}

fn public_key(given: Option<&Path>, archive: &Path) -> Result<kuzet_store::keys::VerifyingKey> {
    let path = given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| archive.join(PUBLIC_KEY_FILE));
    Ok(kuzet_store::keys::read_public_key(&path)?)
}

/// Returns whether the archive is intact; prints the report.
/// `external` are files of checkpoint lines kept outside the archive (copies of `checkpoints.log`): each must still
/// hold, which catches a rollback of a log together with its own checkpoint log.
pub fn verify(
    config: &Config,
    key: Option<&Path>,
    archive: Option<&Path>,
    external: &[std::path::PathBuf],
    json: bool,
) -> Result<bool> {
    let archive = archive
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.archive_dir());
    let key = public_key(key, &archive)?;
    let report = if external.is_empty() {
        kuzet_store::verify(&archive, &key)?
    } else {
        let mut lines = Vec::new();
        for path in external {
            let bytes = std::fs::read(path)
                .with_context(|| format!("checkpoints {}: cannot read", path.display()))?;
            lines.extend_from_slice(&bytes);
            if !lines.ends_with(b"\n") {
                lines.push(b'\n');
            }
        }
        kuzet_store::verify_with_checkpoints(&archive, &key, &lines)?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(report.is_intact())
}

pub fn prove(config: &Config, event_id: &str, key: Option<&Path>) -> Result<()> {
    let event_id: EventId = event_id.parse()?;
    let archive = config.archive_dir();
    let key = public_key(key, &archive)?;
    let proof = kuzet_store::prove(&archive, event_id)?;
    proof
        .verify(&key)
        .with_context(|| format!("event {event_id}: the proof does not verify"))?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &proof)?;
    writeln!(out)?;
    Ok(())
}

/// Verifies a saved proof: the record hashes to its block root, the block to the checkpoint's root, and the
/// checkpoint carries a valid signature of the archive's key. Prints the event it proves.
pub fn check_proof(config: &Config, proof: &Path, key: Option<&Path>) -> Result<()> {
    let key = public_key(key, &config.archive_dir())?;
    let text = std::fs::read_to_string(proof)
        .with_context(|| format!("proof {}: cannot read", proof.display()))?;
    let proof: kuzet_store::InclusionProof = serde_json::from_str(&text)
        .with_context(|| format!("proof {}: not a kuzet proof", proof.display()))?;
    proof
        .verify(&key)
        .with_context(|| format!("event {}: the proof does not verify", proof.event_id))?;
    let event = proof.event(&*serve::Parser::reader(config))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "proof ok: event {} of tenant `{}` is record {} of block {} under the checkpoint of {} blocks signed at {}",
        proof.event_id,
        proof.tenant,
        proof.record_index,
        proof.block_index,
        proof.checkpoint.tree_size,
        proof.checkpoint.time
    )?;
    serde_json::to_writer(&mut out, &event.to_ecs_json())?;
    writeln!(out)?;
    Ok(())
}

/// `kuzet export`: a tenant's sealed events as ECS NDJSON, all of them or one local day's (by receive time);
/// with `stored`, the records as the archive keeps them.
pub fn export(
    config: &Config,
    tenant: &str,
    day: Option<jiff::civil::Date>,
    stored: bool,
) -> Result<()> {
    let tenant = TenantId::new(tenant)?;
    if !config.archive_dir().join(tenant.as_str()).exists()
        && crate::identity::load_directory(config)?
            .tenant(&tenant)
            .is_none()
    {
        bail!(
            "tenant `{tenant}`: not configured, not created through the API and not in the archive"
        );
    }
    if !config.archive_dir().join(tenant.as_str()).exists() {
        // A configured tenant that has not sent anything yet has an empty archive.
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let archive = config.archive_dir();
    let parser = serve::Parser::reader(config);
    for record in records_of_day(config, &archive, &tenant, day)? {
        let record = record?;
        let line = if stored {
            record.to_json()
        } else {
            record.event(&*parser).map(|e| e.to_ecs_json())
        }
        .map_err(|e| anyhow!("tenant `{tenant}`: {e}"))?;
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// A tenant's archived events, or only those received on local `day`: the day the archive's segments roll at
/// (`store.day_offset` ahead of UTC; Kazakhstan's by default), so a day's export is what one day's segment holds.
fn events_of_day<'a>(
    config: &Config,
    archive_dir: &'a Path,
    tenant: &'a TenantId,
    day: Option<jiff::civil::Date>,
) -> Result<impl Iterator<Item = Result<kuzet_model::Event>> + 'a> {
    let parser = serve::Parser::reader(config);
    Ok(
        records_of_day(config, archive_dir, tenant, day)?.map(move |record| {
            record?
                .event(&*parser)
                .map_err(|e| anyhow!("tenant `{tenant}`: {e}"))
        }),
    )
}

/// The records of a tenant's archive, or only those received on local `day`; the day is read from each record's
/// envelope, so records of other days are never parsed.
fn records_of_day<'a>(
    config: &Config,
    archive_dir: &'a Path,
    tenant: &'a TenantId,
    day: Option<jiff::civil::Date>,
) -> Result<impl Iterator<Item = Result<kuzet_store::StoredRecord>> + 'a> {
    let offset = jiff::SignedDuration::try_from(config.store.day_offset.std())
        .context("store.day_offset: out of range")?;
    Ok(kuzet_store::read_records(archive_dir, tenant)
        .map(|record| record.map_err(anyhow::Error::from))
        .filter(move |record| match (record, day) {
            (Ok(r), Some(d)) => r.received().is_ok_and(|received| {
                received
                    .checked_add(offset)
                    .is_ok_and(|local| local.to_zoned(jiff::tz::TimeZone::UTC).date() == d)
            }),
            _ => true,
        }))
}

/// What `kuzet evidence export` is asked for.
pub struct EvidenceRequest<'a> {
    pub tenant: &'a str,
    pub case: &'a str,
    /// An incident whose attached events and custody come from the database.
    pub incident: Option<&'a str>,
    /// Every event received on this day in Kazakhstan time, besides the chosen ones.
    pub day: Option<jiff::civil::Date>,
    pub events: &'a [String],
    pub reason: &'a str,
}

/// `kuzet evidence export`: sealed events of a tenant with their proofs, in a signed bundle; with `--incident`,
/// the incident's attached events and its chain of custody, and the export is added to that chain.
pub fn evidence_export(config: &Config, request: EvidenceRequest<'_>, out: &Path) -> Result<()> {
    let tenant = TenantId::new(request.tenant)?;
    let reason = request.reason;
    if reason.trim().is_empty() {
        bail!(
            "--reason: say why the evidence leaves the ISOC (it is recorded in the bundle's custody)"
        );
    }
    let mut ids = request
        .events
        .iter()
        .map(|e| e.parse::<EventId>().with_context(|| format!("event `{e}`")))
        .collect::<Result<Vec<_>>>()?;
    if let Some(day) = request.day {
        let mut of_day = Vec::new();
        let archive = config.archive_dir();
        for event in events_of_day(config, &archive, &tenant, Some(day))? {
            let id = event?.id;
            if !ids.contains(&id) {
                of_day.push(id);
            }
        }
        if of_day.is_empty() && ids.is_empty() {
            bail!(
                "--day {day}: tenant `{tenant}` has no events received that day (Kazakhstan time)"
            );
        }
        ids.extend(of_day);
    }
    let signer = kuzet_store::keys::read_signing_key(&config.signing_key)?;
    let now = jiff::Timestamp::now();
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let actor = format!("{user} (kuzet evidence export)");
    let mut custody = Vec::new();
    let mut files = Vec::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let incident = request
        .incident
        .map(kuzet_model::ObjectId::new)
        .transpose()
        .context("--incident")?;
    if let Some(incident) = &incident {
        let (items, entries, kept) = runtime.block_on(async {
            let db = crate::identity::open_db(config).await?;
            let (items, entries) = db.system_evidence(&tenant, incident).await?;
            let kept = db.system_evidence_files(&tenant, incident).await?;
            anyhow::Ok((items, entries, kept))
        })?;
        // Files kept as evidence (docs/formats/evidence-files.md) travel with the events.
        let store = config.data_dir.join("evidence").join(tenant.as_str());
        files.extend(kept.into_iter().map(|f| kuzet_store::FileToBundle {
            path: store.join(&f.sha256),
            name: f.name,
            sha256: f.sha256,
        }));
        ids.extend(
            items
                .iter()
                .map(|i| i.event_id)
                .filter(|id| !ids.contains(id))
                .collect::<Vec<_>>(),
        );
        custody.extend(entries.into_iter().map(|c| kuzet_store::CustodyEntry {
            at: c.at.to_string(),
            actor: c.actor,
            action: c.action,
            reason: c.reason,
        }));
    }
    custody.push(kuzet_store::CustodyEntry {
        at: now.to_string(),
        actor: actor.clone(),
        action: "exported".into(),
        reason: reason.to_owned(),
    });
    let meta = kuzet_store::BundleMeta {
        case: request.case.to_owned(),
        created: now,
        created_by: actor.clone(),
        reason: reason.to_owned(),
        custody,
        files,
    };
    let manifest =
        kuzet_store::write_bundle(out, &config.archive_dir(), &tenant, &ids, &signer, meta)
            .with_context(|| format!("evidence bundle {}", out.display()))?;
    if let Some(incident) = &incident {
        runtime.block_on(async {
            let db = crate::identity::open_db(config).await?;
            let why = format!("bundle {}: {reason}", out.display());
            anyhow::Ok(
                db.system_record_custody(&tenant, incident, &actor, "exported", &why, now)
                    .await?,
            )
        })?;
    }
    println!(
        "evidence bundle {}: {} event(s) of tenant `{tenant}` with their inclusion proofs and {} file(s), signed; \
         verify it with `kuzet verify-bundle {} --public-key KEY`",
        out.display(),
        manifest.items.len(),
        manifest.files.len(),
        out.display()
    );
    Ok(())
}

/// `kuzet verify-bundle`: returns whether the bundle is intact; prints what it holds or what is wrong.
pub fn verify_bundle(config: &Config, dir: &Path, key: Option<&Path>) -> Result<bool> {
    let key = public_key(key, &config.archive_dir())
        .context("the sealing public key (give --public-key for a bundle from elsewhere)")?;
    let report = kuzet_store::verify_bundle(dir, &key)?;
    for finding in &report.findings {
        println!("FINDING {finding}");
    }
    match (&report.manifest, report.is_intact()) {
        (Some(m), true) => println!(
            "evidence bundle intact: {} event(s) of tenant `{}` for {}, {} custody entries, signed by {key}",
            m.items.len(),
            m.tenant,
            m.case,
            m.custody.len()
        ),
        _ => println!(
            "evidence bundle NOT intact: {} finding(s)",
            report.findings.len()
        ),
    }
    Ok(report.is_intact())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_kind_by_flag_extension_and_content() {
        let p = Path::new;
        assert_eq!(
            file_kind(p("a.evtx"), b"", "auto", FormatHint::Auto).unwrap(),
            FileKind::Evtx
        );
        assert_eq!(
            file_kind(p("x"), b"ElfFile\0", "auto", FormatHint::Auto).unwrap(),
            FileKind::Evtx
        );
        assert_eq!(
            file_kind(p("dns.json.gz"), b"", "auto", FormatHint::Auto).unwrap(),
            FileKind::Lines(FormatHint::Json)
        );
        assert_eq!(
            file_kind(p("a.log"), b"  {\"a\":1}", "auto", FormatHint::Auto).unwrap(),
            FileKind::Lines(FormatHint::Json)
        );
        assert_eq!(
            file_kind(p("a.log"), b"<13>Jan", "auto", FormatHint::Syslog).unwrap(),
            FileKind::Lines(FormatHint::Syslog)
        );
        assert_eq!(
            file_kind(p("a.log"), b"", "cef", FormatHint::Auto).unwrap(),
            FileKind::Lines(FormatHint::Cef)
        );
        assert!(file_kind(p("a.log"), b"", "yaml", FormatHint::Auto).is_err());
    }
}
