//! The exchange's one error type: each names the message, file or peer it is about.

/// What went wrong in the exchange.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A message that is not a valid exchange message of this version.
    #[error("message {what}: {reason}")]
    Invalid { what: String, reason: String },
    /// A signature that does not verify, or a key or certificate that cannot sign or verify.
    #[error("signature of {what}: {reason}")]
    Signature { what: String, reason: String },
    /// A certificate or key file that cannot be read or used.
    #[error("{what}: {reason}")]
    Pki { what: String, reason: String },
    /// The hub could not be reached or refused the message.
    #[error("delivery to {url}: {reason}")]
    Delivery { url: String, reason: String },
}

impl ExchangeError {
    pub(crate) fn invalid(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Invalid {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn signature(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Signature {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn pki(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Pki {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}
