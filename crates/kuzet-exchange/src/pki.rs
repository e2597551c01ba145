//! Certificates and keys: reading PEM files, fingerprints, and a small CA (`kuzet pki`) that issues server and
//! client certificates for tests and small deployments. Certificates issued elsewhere are used as they are.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use sha2::{Digest, Sha256};

use crate::ExchangeError;

/// A signature algorithm of keys Kuzet makes and uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Ed25519,
    EcdsaP256,
}

impl KeyAlgorithm {
    pub fn parse(name: &str) -> Result<Self, ExchangeError> {
        match name {
            "ed25519" => Ok(Self::Ed25519),
            "p256" | "ecdsa-p256" => Ok(Self::EcdsaP256),
            other => Err(ExchangeError::pki(
                format!("key algorithm `{other}`"),
                "expected ed25519 or p256",
            )),
        }
    }

    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::Ed25519 => &rcgen::PKCS_ED25519,
            Self::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

/// The SHA-256 fingerprint of a certificate's DER bytes, as lowercase hex: how certificates are registered and
/// named (`kid` of a signature).
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// A parsed X.509 certificate with what the exchange needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub fingerprint: String,
    /// The subject's common name, or the whole subject when it has none.
    pub subject: String,
    pub not_after: jiff::Timestamp,
    /// The key's algorithm, when it is one that signs messages.
    pub key_algorithm: Option<KeyAlgorithm>,
    /// The raw public key (Ed25519: 32 bytes; P-256: the uncompressed point).
    pub public_key: Vec<u8>,
}

const OID_ED25519: &str = "1.3.101.112";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";

impl Certificate {
    pub fn from_der(der: &[u8], what: &str) -> Result<Self, ExchangeError> {
        let (_, parsed) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| ExchangeError::pki(what, format!("not an X.509 certificate: {e}")))?;
        let subject = parsed
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map_or_else(|| parsed.subject().to_string(), str::to_owned);
        let spki = parsed.public_key();
        let algorithm = spki.algorithm.algorithm.to_id_string();
        let key_algorithm = match algorithm.as_str() {
            OID_ED25519 => Some(KeyAlgorithm::Ed25519),
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid.to_id_string());
                (curve.as_deref() == Some(OID_P256)).then_some(KeyAlgorithm::EcdsaP256)
            }
            _ => None,
        };
        let not_after = jiff::Timestamp::from_second(parsed.validity().not_after.timestamp())
            .map_err(|e| ExchangeError::pki(what, format!("validity: {e}")))?;
        Ok(Self {
            der: der.to_vec(),
            fingerprint: fingerprint(der),
            subject,
            not_after,
            key_algorithm,
            public_key: spki.subject_public_key.data.to_vec(),
        })
    }

    /// The first certificate of a PEM text.
    pub fn from_pem(pem: &str, what: &str) -> Result<Self, ExchangeError> {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .ok_or_else(|| ExchangeError::pki(what, "no certificate in the PEM text"))?
            .map_err(|e| ExchangeError::pki(what, format!("PEM: {e}")))?;
        Self::from_der(&der, what)
    }

    pub fn from_pem_file(path: &Path) -> Result<Self, ExchangeError> {
        let what = format!("certificate {}", path.display());
        let text = read(path)?;
        Self::from_pem(&text, &what)
    }

    /// The certificate as PEM.
    pub fn to_pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }
}

pub(crate) fn read(path: &Path) -> Result<String, ExchangeError> {
    std::fs::read_to_string(path)
        .map_err(|e| ExchangeError::pki(format!("file {}", path.display()), e))
}

/// A certificate and its key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub certificate_pem: String,
    pub key_pem: String,
}

/// What a certificate is for.
#[derive(Debug, Clone)]
pub enum Usage {
    /// A TLS server (a hub, an API): its DNS names and IP addresses.
    Server { names: Vec<String> },
    /// A TLS client (an ISOC towards the hub, a shipper towards the syslog listener), which also signs messages.
    Client,
}

/// Makes a self-signed CA valid for `days`.
pub fn new_ca(name: &str, algorithm: KeyAlgorithm, days: u32) -> Result<Issued, ExchangeError> {
    let what = format!("CA `{name}`");
    let key = KeyPair::generate_for(algorithm.rcgen()).map_err(|e| ExchangeError::pki(&what, e))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, days);
    let certificate = params
        .self_signed(&key)
        .map_err(|e| ExchangeError::pki(&what, e))?;
    Ok(Issued {
        certificate_pem: certificate.pem(),
        key_pem: key_pem(&key, algorithm, &what)?,
    })
}

/// Issues a certificate named `name` for `usage`, signed by the CA, valid for `days`.
pub fn issue(
    ca: &Issued,
    name: &str,
    usage: &Usage,
    algorithm: KeyAlgorithm,
    days: u32,
) -> Result<Issued, ExchangeError> {
    let what = format!("certificate `{name}`");
    let ca_key = KeyPair::from_pem(&ca.key_pem)
        .map_err(|e| ExchangeError::pki("CA key", format!("not a PKCS#8 key: {e}")))?;
    let issuer = Issuer::from_ca_cert_pem(&ca.certificate_pem, ca_key)
        .map_err(|e| ExchangeError::pki("CA certificate", e))?;
    let key = KeyPair::generate_for(algorithm.rcgen()).map_err(|e| ExchangeError::pki(&what, e))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    match usage {
        Usage::Server { names } => {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            for n in names {
                let san = match n.parse::<std::net::IpAddr>() {
                    Ok(ip) => SanType::IpAddress(ip),
                    Err(_) => SanType::DnsName(
                        n.clone()
                            .try_into()
                            .map_err(|e| ExchangeError::pki(format!("server name `{n}`"), e))?,
                    ),
                };
                params.subject_alt_names.push(san);
            }
        }
        Usage::Client => {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
    }
    validity(&mut params, days);
    let certificate = params
        .signed_by(&key, &issuer)
        .map_err(|e| ExchangeError::pki(&what, e))?;
    Ok(Issued {
        certificate_pem: certificate.pem(),
        key_pem: key_pem(&key, algorithm, &what)?,
    })
}

/// The key as PKCS#8 PEM that every tool reads: an Ed25519 key in the version 1 form (RFC 5208), because the
/// version 2 form (with the public key) that the generator makes is refused by OpenSSL 3.0 — and so by curl,
/// rsyslog and nginx built on it.
fn key_pem(key: &KeyPair, algorithm: KeyAlgorithm, what: &str) -> Result<String, ExchangeError> {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => Ok(key.serialize_pem()),
        KeyAlgorithm::Ed25519 => {
            let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(
                key.serialized_der(),
            )
            .map_err(|e| ExchangeError::pki(what, e))?;
            let v1 = pair.to_pkcs8v1().map_err(|e| ExchangeError::pki(what, e))?;
            Ok(pem("PRIVATE KEY", v1.as_ref()))
        }
    }
}

/// A PEM block of `der`.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn dn(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "Kuzet");
    dn
}

fn validity(params: &mut CertificateParams, days: u32) {
    let now = rcgen::date_time_ymd(1970, 1, 1)
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
    // A minute back: a peer whose clock is slightly behind still accepts a certificate made just now.
    params.not_before = now - std::time::Duration::from_secs(60);
    params.not_after = now + std::time::Duration::from_secs(u64::from(days) * 86_400);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_issues_server_and_client_certificates_of_both_algorithms() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            let ca = new_ca("Test CA", algorithm, 30).unwrap();
            let server = issue(
                &ca,
                "hub",
                &Usage::Server {
                    names: vec!["localhost".into(), "127.0.0.1".into()],
                },
                algorithm,
                30,
            )
            .unwrap();
            let client = issue(&ca, "isoc-alatau", &Usage::Client, algorithm, 30).unwrap();
            let c = Certificate::from_pem(&client.certificate_pem, "client").unwrap();
            assert_eq!(c.subject, "isoc-alatau");
            assert_eq!(c.key_algorithm, Some(algorithm));
            assert_eq!(c.fingerprint, fingerprint(&c.der));
            assert_eq!(Certificate::from_pem(&c.to_pem(), "again").unwrap(), c);
            let s = Certificate::from_pem(&server.certificate_pem, "server").unwrap();
            assert_ne!(s.fingerprint, c.fingerprint);
            assert!(s.not_after > jiff::Timestamp::now());
            // Keys are PKCS#8 that OpenSSL 3.0 reads: Ed25519 in the version 1 form (version field 0).
            if algorithm == KeyAlgorithm::Ed25519 {
                use rustls_pki_types::pem::PemObject;
                let der =
                    rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(client.key_pem.as_bytes())
                        .unwrap();
                assert_eq!(
                    &der.secret_pkcs8_der()[..5],
                    &[0x30, 0x2e, 0x02, 0x01, 0x00]
                );
            }
        }
    }

    #[test]
    fn bad_pem_is_named() {
        let error = Certificate::from_pem("nothing here", "certificate hub.pem").unwrap_err();
        assert_eq!(
            error.to_string(),
            "certificate hub.pem: no certificate in the PEM text"
        );
        assert!(KeyAlgorithm::parse("rsa").is_err());
    }
}
