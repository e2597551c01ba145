//! `kuzet init`: the data directory and the sealing key.

use std::path::Path;

use anyhow::{Context, Result, bail};
use kuzet_store::format::PUBLIC_KEY_FILE;
use kuzet_store::keys;

use crate::config::Config;

/// Creates the data directory and, unless it exists, the signing key. Never overwrites a key: replacing it would
/// make every existing checkpoint unverifiable with the new public key.
pub fn init(config: &Config) -> Result<()> {
    keys::check_key_outside(&config.signing_key, &config.data_dir)?;
    let public = ensure_key(&config.signing_key, &config.archive_dir())?;
    println!("data directory: {}", config.data_dir.display());
    println!("signing key:    {}", config.signing_key.display());
    println!(
        "public key:     {} (keep a copy elsewhere; `kuzet verify --public-key COPY`)",
        config.archive_dir().join(PUBLIC_KEY_FILE).display()
    );
    println!("{}", public.to_text().trim());
    Ok(())
}

/// Makes sure a signing key exists at `signing_key` and that the archive holds its public half; returns it.
pub fn ensure_key(signing_key: &Path, archive_dir: &Path) -> Result<keys::VerifyingKey> {
    std::fs::create_dir_all(archive_dir)
        .with_context(|| format!("data directory {}: cannot create", archive_dir.display()))?;
    let signer = if signing_key.exists() {
        keys::read_signing_key(signing_key)?
    } else {
        if let Some(parent) = signing_key.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("key directory {}: cannot create", parent.display()))?;
        }
        let (signer, _) = keys::generate()?;
        keys::write_signing_key(signing_key, &signer)?;
        signer
    };
    let public = signer.verifying_key();
    let public_path = archive_dir.join(PUBLIC_KEY_FILE);
    if public_path.exists() {
        let existing = keys::read_public_key(&public_path)?;
        if existing != public {
            bail!(
                "signing key {} does not match the archive's public key {}: refusing to seal with another key",
                signing_key.display(),
                public_path.display()
            );
        }
    } else {
        keys::write_public_key(&public_path, &public)?;
    }
    Ok(public)
}
