//! Secrets: random tokens, their SHA-256 digests (what is stored), Argon2id password hashes, the password policy
//! and TOTP (RFC 6238) codes.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::DbError;

/// Limits of authentication.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    pub password: PasswordPolicy,
    /// Consecutive failed logins that lock an account.
    pub lockout_threshold: u32,
    /// How long a locked account stays locked (an administrator may unlock it earlier).
    pub lockout_duration: SignedDuration,
    /// A console session ends this long after login …
    pub session_lifetime: SignedDuration,
    /// … or this long after its last use.
    pub session_idle: SignedDuration,
    /// The longest an API token may live.
    pub token_max_lifetime: SignedDuration,
    /// Argon2id memory in KiB and passes (OWASP: 19 MiB, 2 passes).
    pub argon2_memory_kib: u32,
    pub argon2_passes: u32,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            password: PasswordPolicy::default(),
            lockout_threshold: 20,
            lockout_duration: SignedDuration::from_mins(15),
            session_lifetime: SignedDuration::from_hours(12),
            session_idle: SignedDuration::from_mins(30),
            token_max_lifetime: SignedDuration::from_hours(24 * 366),
            argon2_memory_kib: 19 * 1024,
            argon2_passes: 2,
        }
    }
}

/// What a new password must be.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 256,
        }
    }
}

/// Passwords too common to allow whatever their length.
const COMMON: &[&str] = &[
    "password1234",
    "qwertyuiop12",
    "123456789012",
    "administrator",
    "1q2w3e4r5t6y",
    "qwerty123456",
    "passwordpassword",
    "kazakhstan2024",
    "kazakhstan2025",
    "kazakhstan2026",
    "astana123456",
];

impl PasswordPolicy {
    /// Checks a new password for `user`; the reason names what is wrong (never the password).
    pub fn check(&self, user: &str, password: &str) -> Result<(), String> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(format!(
                "must be at least {} characters long (has {length})",
                self.min_length
            ));
        }
        if length > self.max_length {
            return Err(format!(
                "must be at most {} characters long",
                self.max_length
            ));
        }
        let lower = password.to_lowercase();
        if user.chars().count() >= 3 && lower.contains(&user.to_lowercase()) {
            return Err("must not contain the user name".into());
        }
        let distinct: std::collections::BTreeSet<char> = password.chars().collect();
        if distinct.len() < 5 {
            return Err("must use at least 5 different characters".into());
        }
        if COMMON.contains(&lower.as_str()) {
            return Err("is a commonly used password".into());
        }
        Ok(())
    }
}

/// `n` random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], DbError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| DbError::Randomness(e.to_string()))?;
    Ok(bytes)
}

/// A new secret for a session cookie or a token: 32 random bytes, base64url. Prefixed so that a leaked secret
/// is recognizable (`kzs_` sessions, `kzt_` API tokens, `kzm_` machine tokens of sources).
pub(crate) fn new_secret(prefix: &str) -> Result<String, DbError> {
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?)
    ))
}

/// What is stored of a secret: its SHA-256, lowercase hex. Secrets are 256 random bits, so a fast hash suffices.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A readable one-time password: 20 characters from an alphabet without look-alikes, 100+ bits.
pub(crate) fn one_time_password() -> Result<String, DbError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random::<20>()?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

fn argon2(policy: &AuthPolicy) -> Result<Argon2<'static>, DbError> {
    let params = Params::new(policy.argon2_memory_kib, policy.argon2_passes, 1, None)
        .map_err(|e| DbError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// An Argon2id PHC string for `password`.
pub(crate) fn hash_password(policy: &AuthPolicy, password: &str) -> Result<String, DbError> {
    Ok(argon2(policy)?
        .hash_password_with_salt(password.as_bytes(), &random::<16>()?)
        .map_err(|e| DbError::Hashing(e.to_string()))?
        .to_string())
}

/// Whether `password` matches the stored PHC string (with the parameters it was hashed with).
pub(crate) fn verify_password(
    policy: &AuthPolicy,
    stored: &str,
    password: &str,
) -> Result<bool, DbError> {
    match argon2(policy)?.verify_password(password.as_bytes(), stored) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(DbError::Corrupt {
            what: "password hash",
            detail: e.to_string(),
        }),
    }
}

/// Checks `password` against a hash of a password nobody has, made once per process and policy: an unknown user
/// costs one verification, exactly like a known one.
pub(crate) fn dummy_verify(policy: &AuthPolicy, password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password(policy, "kuzet-timing-equalizer").ok());
    if let Some(hash) = hash {
        let _ = verify_password(policy, hash, password);
    }
}

/// TOTP as authenticator apps do it: SHA-1, 6 digits, 30-second steps.
const TOTP_STEP_SECS: u64 = 30;

fn totp(secret: totp_rs::Secret) -> Result<totp_rs::Totp, DbError> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(0)
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(secret)
        .build()
        .map_err(|e| DbError::Corrupt {
            what: "totp secret",
            detail: e.to_string(),
        })
}

/// A new TOTP secret: 20 random bytes (160 bits, as RFC 4226 recommends), base32.
pub(crate) fn new_totp_secret() -> Result<String, DbError> {
    Ok(totp_rs::Secret::from(random::<20>()?).to_base32())
}

fn decode_totp_secret(base32: &str) -> Result<totp_rs::Secret, DbError> {
    totp_rs::Secret::try_from_base32(base32).map_err(|e| DbError::Corrupt {
        what: "totp secret",
        detail: e.to_string(),
    })
}

/// The code for `secret` (base32) at `at`. Public so that tests and scripts can act as an authenticator app.
pub fn totp_code(secret_base32: &str, at: Timestamp) -> Result<String, DbError> {
    let seconds = u64::try_from(at.as_second()).unwrap_or(0);
    Ok(totp(decode_totp_secret(secret_base32)?)?
        .generate(seconds)
        .to_string())
}

/// The time step a code matches at `at` (this step or one on either side, for clock drift), if any.
pub(crate) fn totp_step_matching(
    secret_base32: &str,
    code: &str,
    at: Timestamp,
) -> Result<Option<i64>, DbError> {
    let totp = totp(decode_totp_secret(secret_base32)?)?;
    let now = at.as_second();
    for delta in [0i64, -1, 1] {
        let t = now + delta * TOTP_STEP_SECS as i64;
        let Ok(seconds) = u64::try_from(t) else {
            continue;
        };
        // In constant time: how much of a code matched must not show in how long the answer takes.
        if bool::from(subtle::ConstantTimeEq::ct_eq(
            totp.generate(seconds).to_string().as_bytes(),
            code.trim().as_bytes(),
        )) {
            return Ok(Some(t.div_euclid(TOTP_STEP_SECS as i64)));
        }
    }
    Ok(None)
}

/// The `otpauth://` URI authenticator apps scan.
pub(crate) fn otpauth_uri(secret_base32: &str, user: &str) -> String {
    let escape = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/Kuzet:{}?secret={secret_base32}&issuer=Kuzet&algorithm=SHA1&digits=6&period={TOTP_STEP_SECS}",
        escape(user)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> AuthPolicy {
        AuthPolicy {
            argon2_memory_kib: 64,
            argon2_passes: 1,
            ..AuthPolicy::default()
        }
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B: secret "12345678901234567890", 8 digits there; our 6 digits are the low 6.
        let secret = totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32();
        for (seconds, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (2000000000, "69279037"),
        ] {
            let at = Timestamp::from_second(seconds).unwrap();
            assert_eq!(totp_code(&secret, at).unwrap(), &eight[2..], "t={seconds}");
        }
    }

    #[test]
    fn codes_match_within_one_step_only() {
        let secret = new_totp_secret().unwrap();
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let code = totp_code(&secret, at).unwrap();
        assert!(totp_step_matching(&secret, &code, at).unwrap().is_some());
        let later = Timestamp::from_second(1_800_000_000 + 30).unwrap();
        assert!(totp_step_matching(&secret, &code, later).unwrap().is_some());
        let much_later = Timestamp::from_second(1_800_000_000 + 120).unwrap();
        assert!(
            totp_step_matching(&secret, &code, much_later)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn argon2id_hashes_verify_and_are_salted() {
        let policy = fast();
        let a = hash_password(&policy, "correct horse battery").unwrap();
        let b = hash_password(&policy, "correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_password(&policy, &a, "correct horse battery").unwrap());
        assert!(!verify_password(&policy, &a, "wrong horse battery").unwrap());
    }

    #[test]
    fn password_policy_names_the_problem() {
        let policy = PasswordPolicy::default();
        assert!(
            policy
                .check("aigerim", "short")
                .unwrap_err()
                .contains("at least 12")
        );
        assert!(
            policy
                .check("aigerim", "aigerim-2026-strong")
                .unwrap_err()
                .contains("user name")
        );
        assert!(
            policy
                .check("u", "aaaaaaaaaaaaaaa")
                .unwrap_err()
                .contains("different")
        );
        assert!(
            policy
                .check("u", "Kazakhstan2026")
                .unwrap_err()
                .contains("common")
        );
        policy.check("u", "tulip-steppe-river-42").unwrap();
    }

    #[test]
    fn otpauth_uri_escapes_the_user() {
        let uri = otpauth_uri("ABC", "a b@x");
        assert!(
            uri.starts_with("otpauth://totp/Kuzet:a%20b%40x?secret=ABC"),
            "{uri}"
        );
    }
}
