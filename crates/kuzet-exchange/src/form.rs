//! The two forms a message travels in — JSON with a detached JWS, or XML with an enveloped XML signature — and
//! the one way to sign and verify either. A message's bytes say their form (XML starts with `<`), so what is
//! stored and relayed needs no separate marker.

use crate::jws::{self, MessageSigner, Signed};
use crate::message::Envelope;
use crate::pki::Certificate;
use crate::{ExchangeError, xml};

/// How a message is written and signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// JSON, its detached JWS in the `Kuzet-JWS` header.
    #[default]
    Json,
    /// XML, its XML signature inside.
    Xml,
}

impl Form {
    /// The form of a message's bytes.
    pub fn of(bytes: &[u8]) -> Self {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Form::Xml,
            // a byte order mark before an XML document
            Some(0xEF) if bytes.starts_with(b"\xEF\xBB\xBF<") => Form::Xml,
            _ => Form::Json,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Form::Json => "application/json",
            Form::Xml => xml::MEDIA_TYPE,
        }
    }
}

/// Writes `message` in `form` (checked against the schema first) and signs it: the JWS beside JSON bytes, or
/// inside XML ones (`jws` then empty).
pub fn sign(
    message: &Envelope,
    signer: &dyn MessageSigner,
    form: Form,
) -> Result<Signed, ExchangeError> {
    match form {
        Form::Json => jws::sign(message, signer),
        Form::Xml => {
            let unsigned = xml::write(&message.to_checked_value()?)?;
            Ok(Signed {
                body: xml::sign(&unsigned, signer)?.into_bytes(),
                jws: String::new(),
            })
        }
    }
}

/// Verifies `body` with `certificate`: its detached `jws` for JSON, its enveloped signature for XML. A verified
/// body is then read with [`Envelope::from_bytes`].
pub fn verify(body: &[u8], jws: &str, certificate: &Certificate) -> Result<(), ExchangeError> {
    match Form::of(body) {
        Form::Json => jws::verify(body, jws, certificate),
        Form::Xml => xml::verify(body, certificate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{KeyAlgorithm, Usage, issue, new_ca};

    #[test]
    fn both_forms_sign_verify_and_read_as_the_same_message() {
        let ca = new_ca("CA", KeyAlgorithm::EcdsaP256, 10).unwrap();
        let issued = issue(&ca, "isoc", &Usage::Client, KeyAlgorithm::EcdsaP256, 10).unwrap();
        let key = crate::CertificateKey::from_pem(&issued.certificate_pem, &issued.key_pem, "isoc")
            .unwrap();
        let message = crate::message::tests::incident_message();
        for form in [Form::Json, Form::Xml] {
            let signed = sign(&message, &key, form).unwrap();
            assert_eq!(Form::of(&signed.body), form);
            verify(&signed.body, &signed.jws, key.certificate()).unwrap();
            assert_eq!(Envelope::from_bytes(&signed.body).unwrap(), message);
        }
    }
}
