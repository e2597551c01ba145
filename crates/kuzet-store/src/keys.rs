//! Checkpoint signing keys: Ed25519 in a versioned one-line text format.
//!
//! ```text
//! kuzet-ed25519-secret-v1 <64 hex digits: the 32-byte seed>
//! kuzet-ed25519-public-v1 <64 hex digits: the 32-byte public key>
//! ```
//! The secret file is written with mode 0600; it should live outside the data directory (on a separate machine or
//! token for the strongest guarantee), because whoever holds it can sign checkpoints over a rewritten history.

use std::fmt;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::Signer as _;

use crate::StoreError;

const SECRET_TAG: &str = "kuzet-ed25519-secret-v1";
const PUBLIC_TAG: &str = "kuzet-ed25519-public-v1";

/// Signs checkpoints. Cloning copies the key.
#[derive(Clone)]
pub struct Signer {
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({})", self.verifying_key())
    }
}

impl Signer {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            key: self.key.verifying_key(),
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The secret file's text (one line).
    pub fn to_text(&self) -> String {
        format!("{SECRET_TAG} {}\n", hex::encode(self.key.to_bytes()))
    }
}

/// Verifies checkpoint signatures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey {
    key: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({self})")
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.key.to_bytes()))
    }
}

impl VerifyingKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Option<Self> {
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .ok()
            .map(|key| Self { key })
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Strict verification (rejects non-canonical and small-order encodings).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.key.verify_strict(message, &signature).is_ok()
    }

    /// The public file's text (one line).
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_TAG} {self}\n")
    }

    pub fn parse_text(text: &str) -> Option<Self> {
        let hex_part = text.trim().strip_prefix(PUBLIC_TAG)?.trim();
        let bytes: [u8; 32] = hex::decode(hex_part).ok()?.try_into().ok()?;
        Self::from_bytes(bytes)
    }
}

/// A freshly generated secret key, ready to be written.
pub type SigningKeyFile = Signer;
/// The public half, ready to be written or copied into the archive.
pub type PublicKeyFile = VerifyingKey;

/// Generates a key pair from the operating system's random source.
pub fn generate() -> Result<(SigningKeyFile, PublicKeyFile), StoreError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| StoreError::Key {
        path: "<os random>".into(),
        detail: format!("cannot read random bytes: {e}"),
    })?;
    let signer = Signer::from_seed(seed);
    let public = signer.verifying_key();
    Ok((signer, public))
}

/// Writes the secret key with mode 0600, refusing to overwrite an existing file.
pub fn write_signing_key(path: &Path, key: &Signer) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(StoreError::io(path))?;
    file.write_all(key.to_text().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(StoreError::io(path))?;
    // The new directory entry must survive a power loss too, or the archive's public key names a lost key.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    crate::wal::sync_dir(dir)
}

pub fn write_public_key(path: &Path, key: &VerifyingKey) -> Result<(), StoreError> {
    crate::wal::write_atomically(path, key.to_text().as_bytes())
}

/// A path with symbolic links, `.` and `..` resolved, for comparing where two paths really are. The part that does
/// not exist yet is appended to its nearest existing ancestor, resolved.
fn resolved(path: &Path) -> Result<std::path::PathBuf, StoreError> {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map_err(StoreError::io(path))?
            .join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut base) => {
                for part in rest.iter().rev() {
                    match part {
                        std::path::Component::ParentDir => {
                            base.pop();
                        }
                        std::path::Component::Normal(name) => base.push(name),
                        _ => {}
                    }
                }
                return Ok(base);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(parent) = existing.parent() else {
                    return Err(StoreError::io(path)(e));
                };
                if let Some(last) = existing.components().next_back() {
                    rest.push(last);
                }
                existing = parent;
            }
            Err(e) => return Err(StoreError::io(path)(e)),
        }
    }
}

/// Refuses a signing key inside the data directory, wherever the two paths really point (`./data` and `data/`,
/// `..`, symbolic links): whoever can write the archive must not also be able to re-sign it (R4).
pub fn check_key_outside(signing_key: &Path, data_dir: &Path) -> Result<(), StoreError> {
    let key = resolved(signing_key)?;
    let data = resolved(data_dir)?;
    if key.starts_with(&data) {
        return Err(StoreError::Key {
            path: signing_key.to_owned(),
            detail: format!(
                "is inside the data directory {} (resolved: {} in {}): keep the sealing key outside it, or whoever \
                 can write the archive can also re-sign it (R4)",
                data_dir.display(),
                key.display(),
                data.display()
            ),
        });
    }
    Ok(())
}

/// Reads the secret key, refusing a file that its group or others may read or write.
pub fn read_signing_key(path: &Path) -> Result<Signer, StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(StoreError::io(path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(StoreError::Key {
                path: path.into(),
                detail: format!(
                    "mode {:04o} lets its group or others read or change the sealing key; run `chmod 600 {}`",
                    mode & 0o7777,
                    path.display()
                ),
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(StoreError::io(path))?;
    let bad = |detail: &str| StoreError::Key {
        path: path.into(),
        detail: detail.into(),
    };
    let hex_part = text
        .trim()
        .strip_prefix(SECRET_TAG)
        .ok_or_else(|| bad("not a kuzet-ed25519-secret-v1 key"))?
        .trim();
    let seed: [u8; 32] = hex::decode(hex_part)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("expected 64 hex digits"))?;
    Ok(Signer::from_seed(seed))
}

pub fn read_public_key(path: &Path) -> Result<VerifyingKey, StoreError> {
    let text = std::fs::read_to_string(path).map_err(StoreError::io(path))?;
    VerifyingKey::parse_text(&text).ok_or_else(|| StoreError::Key {
        path: path.into(),
        detail: "not a valid kuzet-ed25519-public-v1 key".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_files_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = generate().unwrap();
        let secret_path = dir.path().join("k.secret");
        let public_path = dir.path().join("k.pub");
        write_signing_key(&secret_path, &secret).unwrap();
        write_public_key(&public_path, &public).unwrap();
        assert!(
            write_signing_key(&secret_path, &secret).is_err(),
            "must not overwrite"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let secret2 = read_signing_key(&secret_path).unwrap();
        assert_eq!(read_public_key(&public_path).unwrap(), public);
        let sig = secret2.sign(b"m");
        assert!(public.verify(b"m", &sig));
        assert!(!public.verify(b"n", &sig));
        assert!(read_signing_key(&public_path).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_its_group_or_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.secret");
        write_signing_key(&path, &generate().unwrap().0).unwrap();
        for mode in [0o640, 0o604, 0o620, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_signing_key(&path).err().unwrap().to_string();
            assert!(
                err.contains(&format!("mode {mode:04o}")) && err.contains("chmod 600"),
                "{err}"
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        read_signing_key(&path).unwrap();
    }

    #[test]
    fn a_key_inside_the_data_directory_is_refused_however_the_paths_are_spelled() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path();
        std::fs::create_dir_all(base.join("data")).unwrap();
        std::fs::create_dir_all(base.join("keys")).unwrap();
        let inside = [
            (base.join("data/kuzet.key"), base.join("data")),
            (base.join("data/kuzet.key"), base.join("data/")),
            (base.join("data/./sub/../kuzet.key"), base.join("./data")),
            (base.join("keys/../data/kuzet.key"), base.join("data")),
            (base.join("data/new/dir/kuzet.key"), base.join("data")),
        ];
        for (key, data) in &inside {
            let err = check_key_outside(key, data).err();
            assert!(err.is_some(), "{} in {}", key.display(), data.display());
        }
        // A symbolic link that leads from outside into the data directory.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("data"), base.join("looks-outside")).unwrap();
            assert!(
                check_key_outside(&base.join("looks-outside/kuzet.key"), &base.join("data"))
                    .is_err()
            );
        }
        check_key_outside(&base.join("keys/kuzet.key"), &base.join("data")).unwrap();
        check_key_outside(&base.join("data-keys/kuzet.key"), &base.join("data")).unwrap();
    }
}
