//! Which source of which tenant sent this: by peer address, TLS client certificate or API token. A sender that
//! maps to no source is refused, never guessed: events must not land in another tenant.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use kuzet_model::{Directory, FormatHint, Source, SourceId, TenantId};
use sha2::{Digest, Sha256};

/// The directory shared by all listeners, swapped whole when the configuration changes. Readers take a cheap
/// `Arc` clone and never hold the lock across an await.
#[derive(Debug, Clone, Default)]
pub struct SharedDirectory {
    inner: Arc<RwLock<Arc<Directory>>>,
}

impl SharedDirectory {
    pub fn new(directory: Directory) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Arc::new(directory))),
        }
    }

    /// The current directory. Connections attributed before a swap keep the source they were attributed to.
    pub fn load(&self) -> Arc<Directory> {
        // A poisoned lock only means a writer panicked between two whole-Arc assignments; the value is intact.
        match self.inner.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn replace(&self, directory: Directory) {
        let directory = Arc::new(directory);
        match self.inner.write() {
            Ok(mut guard) => *guard = directory,
            Err(poisoned) => *poisoned.into_inner() = directory,
        }
    }
}

/// The part of a [`Source`] a listener stamps on every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attributed {
    pub tenant: TenantId,
    pub source: SourceId,
    pub format: FormatHint,
}

impl Attributed {
    pub fn of(source: &Source) -> Self {
        Self {
            tenant: source.tenant.clone(),
            source: source.id.clone(),
            format: source.format,
        }
    }

    /// The hint for a syslog transport: the source's own format when the operator set one, else syslog.
    pub fn syslog_format(&self) -> FormatHint {
        match self.format {
            FormatHint::Auto => FormatHint::Syslog,
            other => other,
        }
    }
}

pub(crate) fn by_peer(directory: &Directory, ip: IpAddr) -> Option<Attributed> {
    directory.source_by_peer(ip).map(Attributed::of)
}

/// Lowercase hex SHA-256, the form the directory keeps tokens and certificate fingerprints in.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A TLS client: by certificate when one was presented (and then only by it: a certificate that maps to nothing is
/// refused rather than attributed by address, so a known host cannot lend its address to an unknown certificate),
/// else by peer address.
pub(crate) fn by_tls_client(
    directory: &Directory,
    certificate_der: Option<&[u8]>,
    ip: IpAddr,
) -> Option<Attributed> {
    match certificate_der {
        Some(der) => {
            let fingerprint = sha256_hex(der);
            let common_name = common_name(der);
            directory
                .source_by_certificate(&fingerprint, common_name.as_deref())
                .map(Attributed::of)
        }
        None => by_peer(directory, ip),
    }
}

fn common_name(der: &[u8]) -> Option<String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let name = certificate
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    Some(name)
}

/// The token an `Authorization` header carries:
/// - `Bearer TOKEN` → `TOKEN`;
/// - `ApiKey base64(id:key)` (what Beats send for `api_key: "id:key"`) → `key`; the id is only a label;
/// - `Basic base64(user:password)` → `password`; the user name is only a label.
pub(crate) fn token_of_authorization(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!value.is_empty()).then(|| value.to_owned());
    }
    if scheme.eq_ignore_ascii_case("apikey") || scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(decode_base64(value)?).ok()?;
        let secret = match decoded.split_once(':') {
            Some((_, secret)) => secret,
            None if scheme.eq_ignore_ascii_case("apikey") => decoded.as_str(),
            None => return None,
        };
        return (!secret.is_empty()).then(|| secret.to_owned());
    }
    None
}

/// Shippers differ in how they write the credential: padded or not, standard or URL-safe alphabet, and some leave
/// non-zero bits in the last character. All of these are accepted; the padding is trimmed up front so that any
/// number of trailing `=` is tolerated.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::RequireNone)
    .with_decode_allow_trailing_bits(true);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes base64 in either alphabet with or without `=` padding; `None` on any other character or a bad length.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    STANDARD_LENIENT
        .decode(text)
        .or_else(|_| URL_SAFE_LENIENT.decode(text))
        .ok()
}

pub(crate) fn by_authorization(directory: &Directory, header: Option<&str>) -> Option<Attributed> {
    let token = token_of_authorization(header?)?;
    directory
        .source_by_token_sha256(&sha256_hex(token.as_bytes()))
        .map(Attributed::of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_each_scheme() {
        assert_eq!(token_of_authorization("Bearer abc").as_deref(), Some("abc"));
        // base64("beat:s3cret")
        assert_eq!(
            token_of_authorization("ApiKey YmVhdDpzM2NyZXQ=").as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            token_of_authorization("Basic YmVhdDpzM2NyZXQ=").as_deref(),
            Some("s3cret")
        );
        assert_eq!(token_of_authorization("Bearer ").as_deref(), None);
        assert_eq!(token_of_authorization("Digest x").as_deref(), None);
        assert_eq!(token_of_authorization("Basic !!!").as_deref(), None);
    }

    #[test]
    fn decodes_padded_and_unpadded() {
        assert_eq!(decode_base64("aWQ6a2V5").unwrap(), b"id:key");
        assert_eq!(decode_base64("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(decode_base64("YQ").unwrap(), b"a");
        assert_eq!(decode_base64("YWI=").unwrap(), b"ab");
        assert!(decode_base64("Y").is_none());
        assert!(decode_base64("a b").is_none());
    }

    #[test]
    fn decodes_either_alphabet() {
        // 0xfb 0xff encodes as "+/8" in the standard alphabet and "-_8" in the URL-safe one.
        assert_eq!(decode_base64("+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("-_8").unwrap(), [0xfb, 0xff]);
        // Non-zero bits left over in the last character are ignored, as before.
        assert_eq!(decode_base64("YR").unwrap(), b"a");
    }
}
