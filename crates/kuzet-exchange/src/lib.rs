//! The NCCIS exchange (`docs/formats/nccis-exchange.md`): what an ISOC and the National Information Security
//! Coordination Center tell each other, and how it travels.
//!
//! - [`message`]: the versioned envelope (an id that is the idempotency key, sender, recipient, tenant and
//!   facility references, creation time, a payload) and its kinds;
//! - [`schema`]: the JSON Schema every message is checked against, sent and received;
//! - [`form`]: the two forms a message travels in, JSON or XML, and one way to sign and verify either;
//! - [`xml`]: the XML form (ADR 003) and its enveloped XML signature;
//! - [`jws`]: detached JWS signatures (Ed25519 or ECDSA P-256 now; [`jws::MessageSigner`] is the seam for other
//!   signers) made with a certificate's key and verified with a registered certificate;
//! - [`pki`]: a small CA for tests and small deployments, certificate fingerprints and key checks;
//! - [`stix`]: the STIX 2.1 objects an ISOC shares (indicators, sightings, vulnerabilities), each TLP-marked;
//! - [`taxii`]: TAXII 2.1 media types, filters and paging (`docs/formats/taxii.md`);
//! - [`transport`]: the mutual-TLS configurations of both ends and the ISOC's client that posts a signed message
//!   and verifies the hub's signed receipt.

pub mod error;
pub mod form;
pub mod jws;
pub mod message;
pub mod pki;
pub mod schema;
pub mod stix;
pub mod taxii;
pub mod taxii_client;
pub mod transport;
pub mod xml;

pub use error::ExchangeError;
pub use form::Form;
pub use jws::{CertificateKey, MessageSigner, Signed};
pub use message::{Envelope, Kind, MessageId, PROTOCOL_VERSION, ReceiptStatus};
pub use pki::{Certificate, fingerprint};
