//! The TLS listener's rustls configuration (RFC 5425). Uses the aws-lc-rs crypto provider, installed as the
//! process default if none is installed yet: rustls is built with it by default, and a second provider compiled in
//! by another dependency would otherwise make the process-wide choice ambiguous.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{IngestError, TlsConfig};

pub(crate) fn server_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, IngestError> {
    // Err only means a provider is already installed, which is what we need.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certificates = load_certificates(&tls.cert_path)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_path).map_err(|e| IngestError::TlsFile {
        path: tls.key_path.clone(),
        reason: format!("no usable private key: {e}"),
    })?;
    let builder = rustls::ServerConfig::builder();
    let builder = match &tls.client_ca_path {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in load_certificates(path)? {
                roots.add(certificate).map_err(|e| IngestError::TlsFile {
                    path: path.clone(),
                    reason: format!("unusable CA certificate: {e}"),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots));
            let verifier = if tls.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|e| IngestError::Tls(format!("client certificate verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None if tls.require_client_cert => {
            return Err(IngestError::Config(
                "tls: require_client_cert needs client_ca_path".to_owned(),
            ));
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certificates, key)
        .map_err(|e| IngestError::Tls(format!("server certificate and key: {e}")))?;
    Ok(Arc::new(config))
}

fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, IngestError> {
    let failed = |reason: String| IngestError::TlsFile {
        path: path.to_owned(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| failed(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(e.to_string()))?;
    if certificates.is_empty() {
        return Err(failed("no certificate in the file".to_owned()));
    }
    Ok(certificates)
}
