//! Detached JWS signatures (RFC 7515, appendix F) over a message's exact bytes: `BASE64URL(header)..BASE64URL(sig)`,
//! the payload left out because it travels as the HTTP body. The header names the algorithm, the signing
//! certificate by its SHA-256 fingerprint (`kid`) and the type `kuzet-exchange+json`. The receiver verifies with the
//! certificate it registered for the sender, never with a key the message brings.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair as _, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::ExchangeError;
use crate::message::Envelope;
use crate::pki::{Certificate, KeyAlgorithm};

/// The JWS `typ` of exchange messages.
pub const TYPE: &str = "kuzet-exchange+json";

/// The HTTP header that carries a message's detached JWS.
pub const HEADER: &str = "kuzet-jws";

/// Signs messages. Ed25519 and ECDSA P-256 keys are built in ([`CertificateKey`]); another signer (a GOST token
/// behind an external command) implements this.
pub trait MessageSigner: Send + Sync {
    /// The JWS `alg`: `EdDSA`, `ES256`, or the other signer's.
    fn algorithm(&self) -> &str;
    /// The fingerprint of the certificate the receiver verifies with.
    fn key_id(&self) -> &str;
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, ExchangeError>;
}

enum Key {
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair),
}

/// A certificate and its private key (PKCS#8 PEM): signs as the certificate's subject.
pub struct CertificateKey {
    certificate: Certificate,
    key: Key,
}

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertificateKey({})", self.certificate.subject)
    }
}

impl CertificateKey {
    /// Reads the pair; refuses a key that is not the certificate's.
    pub fn from_pem(cert_pem: &str, key_pem: &str, what: &str) -> Result<Self, ExchangeError> {
        use rustls_pki_types::pem::PemObject;
        let certificate = Certificate::from_pem(cert_pem, what)?;
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| {
                ExchangeError::pki(
                    format!("key of {what}"),
                    format!("not a PKCS#8 PEM key: {e}"),
                )
            })?;
        let der = der.secret_pkcs8_der();
        let (key, public) = match certificate.key_algorithm {
            Some(KeyAlgorithm::Ed25519) => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|e| ExchangeError::pki(format!("key of {what}"), e))?;
                let public = pair.public_key().as_ref().to_vec();
                (Key::Ed25519(pair), public)
            }
            Some(KeyAlgorithm::EcdsaP256) => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| ExchangeError::pki(format!("key of {what}"), e))?;
                let public = pair.public_key().as_ref().to_vec();
                (Key::P256(pair), public)
            }
            None => {
                return Err(ExchangeError::pki(
                    what,
                    "the certificate's key is neither Ed25519 nor ECDSA P-256",
                ));
            }
        };
        if public != certificate.public_key {
            return Err(ExchangeError::pki(
                format!("key of {what}"),
                "it is not the certificate's key",
            ));
        }
        Ok(Self { certificate, key })
    }

    pub fn from_files(
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> Result<Self, ExchangeError> {
        Self::from_pem(
            &crate::pki::read(cert)?,
            &crate::pki::read(key)?,
            &format!("certificate {}", cert.display()),
        )
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
}

impl MessageSigner for CertificateKey {
    fn algorithm(&self) -> &str {
        match self.key {
            Key::Ed25519(_) => "EdDSA",
            Key::P256(_) => "ES256",
        }
    }

    fn key_id(&self) -> &str {
        &self.certificate.fingerprint
    }

    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, ExchangeError> {
        match &self.key {
            Key::Ed25519(pair) => Ok(pair.sign(input).as_ref().to_vec()),
            Key::P256(pair) => pair
                .sign(&SystemRandom::new(), input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| ExchangeError::signature("message", e)),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    kid: String,
    typ: String,
}

/// A message's bytes with their detached JWS: what is sent, stored and received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub body: Vec<u8>,
    pub jws: String,
}

/// Serializes `message` (checked against the schema) and signs its bytes.
pub fn sign(message: &Envelope, signer: &dyn MessageSigner) -> Result<Signed, ExchangeError> {
    let body = message.to_bytes()?;
    let jws = sign_bytes(&body, signer)?;
    Ok(Signed { body, jws })
}

/// The detached JWS of `body`.
pub fn sign_bytes(body: &[u8], signer: &dyn MessageSigner) -> Result<String, ExchangeError> {
    let header = serde_json::to_vec(&Header {
        alg: signer.algorithm().to_owned(),
        kid: signer.key_id().to_owned(),
        typ: TYPE.to_owned(),
    })
    .map_err(|e| ExchangeError::signature("header", e))?;
    let header = URL_SAFE_NO_PAD.encode(header);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(body));
    let signature = signer.sign(input.as_bytes())?;
    Ok(format!("{header}..{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Verifies that `jws` signs `body` with `certificate`'s key: the header must name that certificate and its
/// algorithm. Returns nothing else: a verified body is then read with [`Envelope::from_bytes`].
pub fn verify(body: &[u8], jws: &str, certificate: &Certificate) -> Result<(), ExchangeError> {
    let what = "message";
    let bad = |reason: &str| ExchangeError::signature(what, reason);
    let (header_b64, rest) = jws
        .split_once('.')
        .ok_or_else(|| bad("not a detached JWS (header..signature)"))?;
    let signature_b64 = rest
        .strip_prefix('.')
        .filter(|s| !s.contains('.'))
        .ok_or_else(|| bad("not a detached JWS: the payload part must be empty"))?;
    let header: Header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| bad("the JWS header is not base64url JSON with alg, kid and typ"))?;
    if header.typ != TYPE {
        return Err(bad(&format!("typ `{}`, expected `{TYPE}`", header.typ)));
    }
    if header.kid != certificate.fingerprint {
        return Err(ExchangeError::signature(
            what,
            format!(
                "signed by certificate {}, not by the sender's registered certificate {}",
                header.kid.chars().take(64).collect::<String>(),
                certificate.fingerprint
            ),
        ));
    }
    let algorithm: &'static dyn signature::VerificationAlgorithm =
        match (header.alg.as_str(), certificate.key_algorithm) {
            ("EdDSA", Some(KeyAlgorithm::Ed25519)) => &ED25519,
            ("ES256", Some(KeyAlgorithm::EcdsaP256)) => &ECDSA_P256_SHA256_FIXED,
            (alg, _) => {
                return Err(ExchangeError::signature(
                    what,
                    format!("alg `{alg}` does not fit the certificate's key"),
                ));
            }
        };
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| bad("the signature is not base64url"))?;
    let input = format!("{header_b64}.{}", URL_SAFE_NO_PAD.encode(body));
    UnparsedPublicKey::new(algorithm, &certificate.public_key)
        .verify(input.as_bytes(), &signature)
        .map_err(|_| bad("does not verify: the message or its signature was changed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Usage, issue, new_ca};

    fn signer(algorithm: KeyAlgorithm, name: &str) -> CertificateKey {
        let ca = new_ca("CA", algorithm, 10).unwrap();
        let issued = issue(&ca, name, &Usage::Client, algorithm, 10).unwrap();
        CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, name).unwrap()
    }

    fn message() -> Envelope {
        crate::message::tests::incident_message()
    }

    #[test]
    fn a_signed_message_verifies_with_its_certificate_only() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            let key = signer(algorithm, "isoc");
            let other = signer(algorithm, "isoc");
            let signed = sign(&message(), &key).unwrap();
            verify(&signed.body, &signed.jws, key.certificate()).unwrap();
            let error = verify(&signed.body, &signed.jws, other.certificate()).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("not by the sender's registered certificate")
            );
            let mut tampered = signed.body.clone();
            let at = tampered.iter().position(|b| *b == b'3').unwrap();
            tampered[at] = b'4';
            let error = verify(&tampered, &signed.jws, key.certificate()).unwrap_err();
            assert!(error.to_string().contains("does not verify"), "{error}");
        }
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let ca = new_ca("CA", KeyAlgorithm::Ed25519, 10).unwrap();
        let a = issue(&ca, "a", &Usage::Client, KeyAlgorithm::Ed25519, 10).unwrap();
        let b = issue(&ca, "b", &Usage::Client, KeyAlgorithm::Ed25519, 10).unwrap();
        let error = CertificateKey::from_pem(&a.certificate_pem, &b.key_pem, "a.pem").unwrap_err();
        assert_eq!(
            error.to_string(),
            "key of a.pem: it is not the certificate's key"
        );
    }

    #[test]
    fn forged_headers_are_refused() {
        let key = signer(KeyAlgorithm::Ed25519, "isoc");
        let signed = sign(&message(), &key).unwrap();
        let (_, signature) = signed.jws.split_once("..").unwrap();
        let forge = |header: &str| format!("{}..{signature}", URL_SAFE_NO_PAD.encode(header));
        let fp = &key.certificate().fingerprint;
        for (jws, expect) in [
            (
                forge(&format!(r#"{{"alg":"none","kid":"{fp}","typ":"{TYPE}"}}"#)),
                "alg `none`",
            ),
            (
                forge(&format!(r#"{{"alg":"ES256","kid":"{fp}","typ":"{TYPE}"}}"#)),
                "alg `ES256`",
            ),
            (
                forge(&format!(r#"{{"alg":"EdDSA","kid":"{fp}","typ":"JWT"}}"#)),
                "typ `JWT`",
            ),
            ("nodots".to_owned(), "not a detached JWS"),
            (format!("a.b.{signature}"), "payload part must be empty"),
        ] {
            let error = verify(&signed.body, &jws, key.certificate())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expect), "{error} (expected {expect})");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_changed_byte_verifies(at in 0usize..400, to in proptest::num::u8::ANY) {
            let key = signer(KeyAlgorithm::Ed25519, "isoc");
            let signed = sign(&message(), &key).unwrap();
            let mut body = signed.body.clone();
            let at = at % body.len();
            proptest::prop_assume!(body[at] != to);
            body[at] = to;
            proptest::prop_assert!(verify(&body, &signed.jws, key.certificate()).is_err());
        }

        #[test]
        fn arbitrary_signatures_never_panic_and_never_verify(jws in ".{0,200}") {
            let key = signer(KeyAlgorithm::Ed25519, "isoc");
            let signed = sign(&message(), &key).unwrap();
            proptest::prop_assert!(verify(&signed.body, &jws, key.certificate()).is_err());
        }
    }
}
