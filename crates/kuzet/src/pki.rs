//! `kuzet pki`: a small CA for tests and small deployments — the CA, server certificates (a hub, an API, the
//! syslog TLS listener) and client certificates (an ISOC towards its hub, a shipper) — and `show` for any
//! certificate, including those issued elsewhere, with the fingerprint `kuzet hub register` and source
//! configuration use.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kuzet_exchange::Certificate;
use kuzet_exchange::pki::{Issued, KeyAlgorithm, Usage, issue, new_ca};

#[derive(Debug, clap::Subcommand)]
pub enum PkiCommand {
    /// Creates a CA: DIR/ca.pem and DIR/ca-key.pem (mode 0600). Refuses to overwrite.
    Ca {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "Kuzet CA")]
        name: String,
        /// ed25519 or p256.
        #[arg(long, default_value = "ed25519")]
        algorithm: String,
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Issues a certificate signed by the CA in DIR: DIR/NAME.pem and DIR/NAME-key.pem.
    Issue {
        #[arg(long)]
        dir: PathBuf,
        /// The subject's common name, and the files' name.
        #[arg(long)]
        name: String,
        /// A server certificate for these DNS names or IP addresses (repeat); without it a client certificate.
        #[arg(long = "server")]
        server: Vec<String>,
        #[arg(long, default_value = "ed25519")]
        algorithm: String,
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
    /// Prints a certificate's subject, SHA-256 fingerprint, key algorithm and expiry.
    Show { certificate: PathBuf },
}

pub fn run(command: &PkiCommand) -> Result<()> {
    match command {
        PkiCommand::Ca {
            dir,
            name,
            algorithm,
            days,
        } => {
            let ca = new_ca(name, KeyAlgorithm::parse(algorithm)?, *days)?;
            write_pair(dir, "ca", &ca)?;
        }
        PkiCommand::Issue {
            dir,
            name,
            server,
            algorithm,
            days,
        } => {
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                bail!("--name `{name}`: not usable as a file name");
            }
            let ca = Issued {
                certificate_pem: read(&dir.join("ca.pem"))?,
                key_pem: read(&dir.join("ca-key.pem"))?,
            };
            let usage = if server.is_empty() {
                Usage::Client
            } else {
                Usage::Server {
                    names: server.clone(),
                }
            };
            let issued = issue(&ca, name, &usage, KeyAlgorithm::parse(algorithm)?, *days)?;
            write_pair(dir, name, &issued)?;
        }
        PkiCommand::Show { certificate } => {
            let c = Certificate::from_pem_file(certificate)?;
            println!("subject:     {}", c.subject);
            println!("fingerprint: {}", c.fingerprint);
            println!(
                "key:         {}",
                match c.key_algorithm {
                    Some(KeyAlgorithm::Ed25519) => "ed25519",
                    Some(KeyAlgorithm::EcdsaP256) => "ecdsa-p256",
                    None => "other (cannot sign exchange messages)",
                }
            );
            println!("not after:   {}", c.not_after);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

fn write_pair(dir: &Path, name: &str, issued: &Issued) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let certificate = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    for path in [&certificate, &key] {
        if path.exists() {
            bail!("{}: exists; not overwritten", path.display());
        }
    }
    let write = |path: &Path, text: &str, mode: u32| -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("{}: cannot write", path.display()))
    };
    write(&key, &issued.key_pem, 0o600)?;
    write(&certificate, &issued.certificate_pem, 0o644)?;
    let c = Certificate::from_pem(&issued.certificate_pem, &certificate.display().to_string())?;
    println!(
        "certificate: {} (fingerprint {})",
        certificate.display(),
        c.fingerprint
    );
    println!("key:         {}", key.display());
    Ok(())
}
